"""soi: training dynamics and Subsets of Interest for single- and multi-setting fine-tuning."""

__version__ = "0.1.0"
