"""Generate soi's starter data sets from hand-written templates and word lists.

Run ``python -m soi.starter.generate`` to write the starter files into this package's
folder, or ``python -m soi.starter.generate FOLDER`` to write them elsewhere. The output
depends only on :data:`SEED` and the templates below, so running it again reproduces the
shipped files byte for byte (a test checks this).

Every template and word list was written for soi; no sentence is taken from an existing
data set. Three families are made:

- Entailment: scenes, each a premise with hypotheses that it entails and hypotheses that
  it does not (contradictions, unsupported details, swapped roles, changed numbers).
- Paraphrase: meaning frames, each with several wordings of one meaning, and contrasts
  that keep most words but change the meaning (negation, swapped roles, another number).
- Intents: ten intents with eight parallel templates in English, French and Persian and
  parallel word lists, so that one id is one request in all three languages.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

from soi.starter import (
    ENTAILMENT_FILE,
    PARAPHRASE_FILE,
    STARTER_INTENTS,
    STARTER_LANGUAGES,
    intents_file,
)

#: Seed of every random choice; changing it changes every file.
SEED = 1729

#: Pairs drawn from each entailment scene, half of them entailed.
PAIRS_PER_SCENE = 16
#: Pairs drawn from each paraphrase frame, half of them paraphrases.
PAIRS_PER_FRAME = 20
#: Utterances per intent and language: at least 40 so that a small model has examples of
#: every intent to learn from, and a multiple of the eight templates per intent.
UTTERANCES_PER_INTENT = 48

# Attempts to draw a pair that is not already in the set before a scene gives up.
_MAX_DRAWS = 500

# Persian text below writes the zero-width non-joiner (U+200C) as "~", because the
# invisible character is hard to read and edit. The files get the real character.
_ZWNJ_MARK = "~"
_ZWNJ = "\u200c"

# --- Shared word lists ------------------------------------------------------------------

_PEOPLE = [
    ("Maria", "she"), ("Daniel", "he"), ("Aisha", "she"), ("Kenji", "he"), ("Sofia", "she"),
    ("Tomás", "he"), ("Priya", "she"), ("Jonas", "he"), ("Leila", "she"), ("Marcus", "he"),
    ("Elena", "she"), ("Samuel", "he"), ("Nadia", "she"), ("Oliver", "he"), ("Grace", "she"),
    ("Ravi", "he"), ("Hannah", "she"), ("Mateo", "he"), ("Yuki", "she"), ("Kwame", "he"),
]
_PRONOUNS = {"she": ("she", "her", "her"), "he": ("he", "his", "him")}

_TOWNS = ["Ashford", "Millbrook", "Kingsport", "Eastwick", "Harlow", "Brackley", "Dunmore", "Westfield"]
_CITIES = ["Lisbon", "Toronto", "Melbourne", "Leeds", "Denver", "Lyon", "Utrecht", "Porto"]
_COMPANIES = [
    "Norlake Systems", "Brightwell Labs", "Tidewater Analytics", "Quarry Point Software",
    "Halden Foods", "Corvid Robotics", "Amberline Energy", "Silverfern Media",
]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = ["January", "March", "April", "June", "September", "October", "November"]

# --- Entailment scenes ------------------------------------------------------------------
# Each scene has a premise, hypotheses it entails ("yes") and hypotheses it does not
# ("no"), and word lists for its slots. A slot list of dicts fills several slots at once.
# "{other_x}" is another value of the list of "x"; a capitalised slot name ("{Team}")
# gives the value with a capital first letter. "{name}" with "{he}", "{his}", "{him}" is a
# person, and "{name2}" a second one.

_SCENES = [
    {
        "premise": "{name} drove {his} old {vehicle} to the farmers' market on {day} morning and bought {n} boxes of {fruit}.",
        "yes": [
            "{name} went to the farmers' market on {day}.",
            "{name} bought {fruit} at the market.",
            "{name} has a {vehicle}.",
            "Someone bought {n} boxes of {fruit}.",
        ],
        "no": [
            "{name} walked to the farmers' market on {day}.",
            "{name} sold {n} boxes of {fruit} at the market.",
            "{name} bought a new {vehicle} on {day}.",
            "{name} went to the farmers' market on {other_day}.",
        ],
        "slots": {
            "vehicle": ["truck", "van", "station wagon", "hatchback"],
            "day": ["Saturday", "Sunday", "Friday", "Wednesday"],
            "n": ["two", "three", "four", "five"],
            "fruit": ["peaches", "apples", "plums", "tomatoes", "cherries"],
        },
    },
    {
        "premise": "{company}, a {industry} firm based in {city}, announced on {weekday} that it will hire {number} new engineers by the end of the year.",
        "yes": [
            "{company} is based in {city}.",
            "{company} plans to hire new engineers.",
            "{company} made an announcement on {weekday}.",
            "{company} intends to employ more engineers.",
        ],
        "no": [
            "{company} is laying off {number} engineers.",
            "{company} is based in {other_city}.",
            "{company} has already hired {number} engineers.",
            "{company} was bought by a competitor on {weekday}.",
        ],
        "slots": {
            "company": _COMPANIES,
            "industry": ["software", "logistics", "medical-device", "renewable-energy"],
            "city": _CITIES,
            "weekday": _WEEKDAYS[:5],
            "number": ["200", "350", "80", "1,200"],
        },
    },
    {
        "premise": "Researchers at the University of {place} found that {animal} living near cities sleep about {hours} hours less per night than those in the countryside.",
        "yes": [
            "Urban {animal} sleep less than rural {animal}.",
            "A study looked at how {animal} sleep.",
            "{Animal} in the countryside sleep longer than those near cities.",
        ],
        "no": [
            "{Animal} near cities sleep more than those in the countryside.",
            "The study was carried out by researchers in {other_place}.",
            "City noise causes {animal} to sleep less.",
            "{Animal} living near cities sleep {hours} hours per night.",
        ],
        "slots": {
            "place": ["Utrecht", "Bergen", "Glasgow", "Uppsala", "Ghent"],
            "animal": ["blackbirds", "foxes", "hedgehogs", "sparrows", "bats"],
            "hours": ["two", "three", "one and a half"],
        },
    },
    {
        "premise": "{Team} beat {team2} {score} on {day}, with {name} scoring twice in the second half.",
        "yes": [
            "{Team} won the match against {team2}.",
            "{name} scored two goals.",
            "{Team2} lost on {day}.",
            "{name} scored in the second half.",
        ],
        "no": [
            "{Team2} won the match on {day}.",
            "{name} scored twice in the first half.",
            "The match between {team} and {team2} ended in a draw.",
            "{name} plays for {team2}.",
        ],
        "slots": {
            "teams": [
                {"team": "the Riverside Hawks", "team2": "the Northfield Rovers"},
                {"team": "the Bay City Mariners", "team2": "the Ashford Lions"},
                {"team": "the Kingsport Comets", "team2": "the Eastwick Wolves"},
                {"team": "the Northfield Rovers", "team2": "the Bay City Mariners"},
                {"team": "the Ashford Lions", "team2": "the Kingsport Comets"},
            ],
            "score": ["3-1", "2-0", "4-2", "2-1"],
            "day": ["Saturday", "Sunday", "Wednesday"],
        },
    },
    {
        "premise": "The {bridge} Bridge, which opened in {year}, was the longest suspension bridge in the region until a larger one was built {decades} decades later.",
        "yes": [
            "The {bridge} Bridge opened in {year}.",
            "The {bridge} Bridge is a suspension bridge.",
            "A larger suspension bridge was later built in the region.",
        ],
        "no": [
            "The {bridge} Bridge is still the longest suspension bridge in the region.",
            "The {bridge} Bridge opened in {other_year}.",
            "The {bridge} Bridge was demolished {decades} decades after it opened.",
            "The {bridge} Bridge was the first bridge in the region.",
        ],
        "slots": {
            "bridge": ["Harlow Point", "Eastgate", "Millbrook", "Saint Aubin", "Carrow"],
            "year": ["1911", "1928", "1936", "1954"],
            "decades": ["two", "three", "four"],
        },
    },
    {
        "premise": "The new clinic on {street} Street, which cost {money} to build, will offer free vaccinations to children under {age} starting in {month}.",
        "yes": [
            "Children under {age} will be able to get free vaccinations at the clinic.",
            "A new clinic has been built on {street} Street.",
            "The clinic will start offering vaccinations in {month}.",
        ],
        "no": [
            "The clinic will charge children under {age} for vaccinations.",
            "The clinic will offer free vaccinations to adults.",
            "The clinic on {street} Street has been open for many years.",
            "The clinic cost {other_money} to build.",
        ],
        "slots": {
            "street": ["Elm", "Harbor", "Mill", "Chestnut", "Station"],
            "money": ["$4 million", "$12 million", "$850,000"],
            "age": ["five", "twelve", "sixteen"],
            "month": _MONTHS,
        },
    },
    {
        "premise": "Heavy snow closed {road} for {hours} hours on {day}, stranding dozens of drivers until crews cleared the road.",
        "yes": [
            "{Road} was closed on {day}.",
            "Snow caused a road closure.",
            "Some drivers were stuck because of the snow.",
            "Crews cleared {road}.",
        ],
        "no": [
            "{Road} stayed open despite the snow.",
            "{Road} was closed for {other_hours} hours.",
            "Nobody was affected by the closure of {road}.",
            "{Road} was closed because of a traffic accident.",
        ],
        "slots": {
            "road": ["Highway 9", "the Route 40 pass", "the coastal road", "the tunnel road"],
            "hours": ["six", "eight", "twelve", "fifteen"],
            "day": _WEEKDAYS,
        },
    },
    {
        "premise": "{name} baked a {cake} cake for {his} grandmother's {age}th birthday and decorated it with fresh {berries}.",
        "yes": [
            "{name}'s grandmother had a birthday.",
            "{name} made a cake.",
            "The cake had {berries} on it.",
            "{name}'s grandmother turned {age}.",
        ],
        "no": [
            "{name} bought a {cake} cake at a bakery.",
            "The cake was for {name}'s own birthday.",
            "{name}'s grandmother turned {other_age}.",
            "{name} decorated the cake with chocolate chips.",
        ],
        "slots": {
            "cake": ["lemon", "chocolate", "carrot", "walnut"],
            "age": ["80", "85", "90", "75"],
            "berries": ["strawberries", "raspberries", "blueberries"],
        },
    },
    {
        "premise": "The {museum} Museum will display {count} paintings by {artist}, most of which have never been shown in public, from {start} to {end}.",
        "yes": [
            "Paintings by {artist} will be exhibited at the {museum} Museum.",
            "Some of {artist}'s paintings have never been shown in public.",
            "The exhibition will open in {start}.",
        ],
        "no": [
            "All of the paintings have been shown in public before.",
            "The {museum} Museum bought {count} paintings by {artist}.",
            "The exhibition will close in {start}.",
            "{artist} will give a talk at the museum.",
        ],
        "slots": {
            "museum": ["Caldwell", "Riverside", "Harborview", "Linden"],
            "count": ["40", "65", "120"],
            "artist": ["Ada Lindqvist", "Tomas Ferreira", "Mei Okada", "Jonah Whitfield"],
            "season": [
                {"start": "April", "end": "July"},
                {"start": "May", "end": "August"},
                {"start": "October", "end": "January"},
            ],
        },
    },
    {
        "premise": "Every student at {school} must complete {n} hours of community service before graduating, a rule the school introduced in {year}.",
        "yes": [
            "Students at {school} have to do community service.",
            "{school} introduced a rule about community service in {year}.",
            "Graduating from {school} requires community service.",
        ],
        "no": [
            "Community service at {school} is optional.",
            "{school} requires {other_n} hours of community service.",
            "{school} abolished its community service rule in {year}.",
            "Teachers at {school} must complete community service.",
        ],
        "slots": {
            "school": ["Westfield High School", "Dunmore Academy", "Brackley College", "Eastwick High"],
            "n": ["40", "60", "100"],
            "year": ["2009", "2015", "2018", "1998"],
        },
    },
    {
        "premise": "The latest version of the {app} app lets users {feature} without an internet connection, something they had requested for years.",
        "yes": [
            "Users of {app} can now {feature} offline.",
            "Users had asked for this feature.",
            "A new version of {app} has been released.",
        ],
        "no": [
            "{app} still needs an internet connection to {feature}.",
            "The feature was added without anyone asking for it.",
            "{app} has been removed from app stores.",
            "The new version of {app} costs more than the old one.",
        ],
        "slots": {
            "app": ["Trailmark", "Notewise", "Pocket Atlas", "Ledgerly", "Readaway"],
            "feature": ["edit their notes", "view saved maps", "record expenses", "read downloaded articles"],
        },
    },
    {
        "premise": "Volunteers planted {n} trees along the {river} River last spring, and {share} of them survived the dry summer.",
        "yes": [
            "Trees were planted along the {river} River.",
            "Some of the trees survived the summer.",
            "The summer was dry.",
        ],
        "no": [
            "None of the trees survived the summer.",
            "The trees were planted last autumn.",
            "Volunteers planted {other_n} trees along the river.",
            "The trees were planted by a logging company.",
        ],
        "slots": {
            "n": ["1,500", "3,000", "800", "450"],
            "river": ["Ouse", "Tamar", "Allen", "Wey", "Leven"],
            "share": ["about half", "most", "nearly all", "two thirds"],
        },
    },
    {
        "premise": "Starting next month, trains between {city} and {city2} will run every {minutes} minutes instead of every hour.",
        "yes": [
            "Trains between {city} and {city2} will run more often.",
            "Trains between {city} and {city2} currently run every hour.",
            "The train timetable between {city} and {city2} is changing.",
        ],
        "no": [
            "Trains between {city} and {city2} will run less often.",
            "The train line between {city} and {city2} will close next month.",
            "Trains between {city} and {city2} already run every {minutes} minutes.",
            "Buses will replace the trains between {city} and {city2}.",
        ],
        "slots": {
            "route": [
                {"city": "Leeds", "city2": "York"},
                {"city": "Lyon", "city2": "Grenoble"},
                {"city": "Porto", "city2": "Braga"},
                {"city": "Utrecht", "city2": "Arnhem"},
                {"city": "Graz", "city2": "Linz"},
            ],
            "minutes": ["15", "20", "30"],
        },
    },
    {
        "premise": "After {years} years as a nurse, {name} left the hospital to open a small bakery in {his} hometown of {town}.",
        "yes": [
            "{name} used to work as a nurse.",
            "{name} opened a bakery.",
            "{name} grew up in {town}.",
            "{name} worked at a hospital for {years} years.",
        ],
        "no": [
            "{name} still works as a nurse.",
            "{name} opened a bakery in {other_town}.",
            "{name} worked as a nurse for {other_years} years.",
            "{name} closed {his} bakery to return to nursing.",
        ],
        "slots": {"years": ["ten", "twelve", "fifteen", "twenty"], "town": _TOWNS},
    },
    {
        "premise": "All {n} passengers on the delayed flight to {city} were offered a hotel room, and most of them accepted.",
        "yes": [
            "The flight to {city} was delayed.",
            "Every passenger on the flight was offered a hotel room.",
            "Some passengers accepted a hotel room.",
        ],
        "no": [
            "All of the passengers accepted a hotel room.",
            "Only some passengers were offered a hotel room.",
            "The flight to {city} left on time.",
            "None of the passengers accepted a hotel room.",
        ],
        "slots": {"n": ["140", "96", "210", "180"], "city": _CITIES},
    },
    {
        "premise": "The town council of {town} voted {votes} to ban cars from the old market square on weekends, despite protests from some shop owners.",
        "yes": [
            "Cars will be banned from the old market square of {town} on weekends.",
            "Some shop owners protested against the ban.",
            "The council of {town} approved the ban.",
            "Not every council member voted for the ban.",
        ],
        "no": [
            "The council of {town} voted against the ban.",
            "Cars will be banned from the square every day of the week.",
            "All shop owners supported the ban.",
            "The council of {town} voted unanimously.",
        ],
        "slots": {"town": _TOWNS, "votes": ["7 to 2", "5 to 4", "9 to 1", "6 to 3"]},
    },
    {
        "premise": "{name} adopted a {age}-year-old {dog} named {pet} from an animal shelter in {town}.",
        "yes": [
            "{name} has a dog.",
            "{pet} is a {dog}.",
            "{name} got {pet} from a shelter.",
            "{pet} was adopted.",
        ],
        "no": [
            "{name} bought {pet} from a breeder.",
            "{pet} is a puppy.",
            "{name} adopted a cat named {pet}.",
            "{pet} was adopted from a shelter in {other_town}.",
        ],
        "slots": {
            "age": ["three", "five", "seven", "nine"],
            "dog": ["beagle", "greyhound", "border collie", "terrier"],
            "pet": ["Biscuit", "Pepper", "Otis", "Luna", "Maple"],
            "town": _TOWNS,
        },
    },
    {
        "premise": "Consumer prices in {country} rose by {pct} percent in {month}, the largest monthly increase since {year}.",
        "yes": [
            "Consumer prices in {country} went up in {month}.",
            "Prices in {country} increased by {pct} percent in {month}.",
            "{country} saw a price increase in {month}.",
        ],
        "no": [
            "Consumer prices in {country} fell in {month}.",
            "This was the largest monthly increase in the history of {country}.",
            "Prices in {country} rose by {other_pct} percent in {month}.",
            "Wages in {country} rose by {pct} percent in {month}.",
        ],
        "slots": {
            "country": ["Valdoria", "Estmark", "Norvania", "Lusenia"],
            "pct": ["0.8", "1.2", "1.5", "2.1"],
            "month": _MONTHS,
            "year": ["2008", "2011", "1995"],
        },
    },
    {
        "premise": "{name} borrowed {n} books from the public library and read all of them during {his} two-week holiday in {place}.",
        "yes": [
            "{name} read {n} books on holiday.",
            "{name} went on holiday to {place}.",
            "{name} borrowed books from a library.",
            "{name}'s holiday lasted two weeks.",
        ],
        "no": [
            "{name} bought {n} books for {his} holiday.",
            "{name} did not finish the books.",
            "{name}'s holiday in {place} lasted a month.",
            "{name} spent {his} holiday in {other_place}.",
        ],
        "slots": {
            "n": ["six", "eight", "five", "nine"],
            "place": ["Crete", "the Lake District", "Sardinia", "the Scottish Highlands", "Brittany"],
        },
    },
    {
        "premise": "Work on the new {building} in {town} was halted in {month} after builders found the remains of a {century} wall under the site.",
        "yes": [
            "Construction of the {building} in {town} stopped.",
            "Builders found an old wall under the site.",
            "The remains of a {century} wall were discovered in {town}.",
        ],
        "no": [
            "The {building} in {town} was finished in {month}.",
            "Work stopped because the town ran out of money.",
            "The builders found a {other_century} wall.",
            "The wall was moved to a museum.",
        ],
        "slots": {
            "building": ["library", "school", "parking garage", "sports hall"],
            "town": _TOWNS,
            "month": _MONTHS,
            "century": ["Roman", "medieval", "17th-century"],
        },
    },
    {
        "premise": "The band {band} cancelled the last {n} shows of its tour after its singer, {name}, lost {his} voice.",
        "yes": [
            "{band} cancelled some shows.",
            "{name} is the singer of {band}.",
            "{name} had a problem with {his} voice.",
            "The tour of {band} did not go entirely as planned.",
        ],
        "no": [
            "{band} played every show of its tour.",
            "{name} left {band}.",
            "{band} cancelled its shows because of poor ticket sales.",
            "{band} cancelled the first {n} shows of its tour.",
        ],
        "slots": {
            "band": ["Paper Lanterns", "The Quiet Engines", "Northern Static", "Velvet Harbor"],
            "n": ["three", "four", "six", "two"],
        },
    },
    {
        "premise": "The {probe} probe, launched in {year}, sent back its first images of {planet}'s moons after a journey of {years} years.",
        "yes": [
            "The {probe} probe was launched in {year}.",
            "The {probe} probe photographed moons of {planet}.",
            "The journey of the {probe} probe took {years} years.",
        ],
        "no": [
            "The {probe} probe landed on {planet}.",
            "The {probe} probe was launched in {other_year}.",
            "The {probe} probe sent back images of {other_planet}'s moons.",
            "The {probe} probe was lost during its journey.",
        ],
        "slots": {
            "probe": ["Aurora", "Meridian", "Halcyon", "Vesper"],
            "year": ["2011", "2016", "2019", "2023"],
            "planet": ["Jupiter", "Saturn", "Neptune", "Uranus"],
            "years": ["six", "seven", "nine"],
        },
    },
    {
        "premise": "{name} said the soup at {restaurant} was excellent but complained that {he} had to wait forty minutes for a table.",
        "yes": [
            "{name} liked the soup at {restaurant}.",
            "{name} waited for a table at {restaurant}.",
            "{name} complained about the wait.",
        ],
        "no": [
            "{name} did not like the soup at {restaurant}.",
            "{name} got a table at {restaurant} right away.",
            "{name} complained about the soup.",
            "{restaurant} was closed when {name} arrived.",
        ],
        "slots": {"restaurant": ["Casa Verde", "The Copper Pot", "Little Saigon", "Olive & Thyme", "The Brass Lamp"]},
    },
    {
        "premise": "Since {year}, employees at {company} have been allowed to work from home {days} days a week.",
        "yes": [
            "Employees at {company} can work from home.",
            "{company} has allowed remote work since {year}.",
            "Employees at {company} can work from home on some days.",
        ],
        "no": [
            "Employees at {company} must work in the office every day.",
            "Employees at {company} can work from home {other_days} days a week.",
            "{company} stopped allowing work from home in {year}.",
            "All employees at {company} work from home full time.",
        ],
        "slots": {"year": ["2020", "2021", "2019", "2022"], "company": _COMPANIES, "days": ["two", "three", "four"]},
    },
    {
        "premise": "{name} sold {his} apartment in {city} for {price} and moved with {his} family to a farm near {town}.",
        "yes": [
            "{name} no longer owns the apartment in {city}.",
            "{name} moved to the countryside.",
            "{name}'s family lives near {town}.",
            "{name} used to own an apartment in {city}.",
        ],
        "no": [
            "{name} bought an apartment in {city}.",
            "{name} moved to {city}.",
            "{name} sold {his} farm near {town}.",
            "{name} sold the apartment for {other_price}.",
        ],
        "slots": {"city": _CITIES, "price": ["$420,000", "$615,000", "$380,000", "$890,000"], "town": _TOWNS},
    },
    {
        "premise": "Although {name} trained for months, {he} did not finish the {city} marathon because of a knee injury.",
        "yes": [
            "{name} trained for the {city} marathon.",
            "{name} hurt {his} knee.",
            "{name} did not complete the {city} marathon.",
        ],
        "no": [
            "{name} finished the {city} marathon.",
            "{name} did not train for the marathon.",
            "{name} won the {city} marathon.",
            "{name} injured {his} ankle.",
        ],
        "slots": {"city": _CITIES},
    },
    {
        "premise": "{inventor}, who was born in {town} in {year}, patented a folding bicycle that was later used by soldiers.",
        "yes": [
            "{inventor} was born in {year}.",
            "{inventor} patented a bicycle.",
            "Soldiers used the folding bicycle that {inventor} patented.",
        ],
        "no": [
            "{inventor} was born in {other_town}.",
            "{inventor} patented a folding chair.",
            "{inventor} served as a soldier.",
            "The folding bicycle of {inventor} was never used.",
        ],
        "slots": {
            "inventor": ["Harriet Colburn", "Edmund Vale", "Clara Bisset", "Josef Marek"],
            "town": _TOWNS,
            "year": ["1852", "1867", "1874", "1889"],
        },
    },
    {
        "premise": "The bakery on {street} Street sells out of {bread} every morning before {time}, so regulars order theirs the day before.",
        "yes": [
            "The {bread} from the bakery is popular.",
            "Some customers order {bread} in advance.",
            "The bakery on {street} Street sells {bread}.",
        ],
        "no": [
            "The bakery on {street} Street always has {bread} left in the evening.",
            "The bakery does not take orders.",
            "The bakery on {street} Street opens at {time}.",
            "The bakery stopped making {bread}.",
        ],
        "slots": {
            "street": ["Elm", "Harbor", "Mill", "Chestnut", "Station"],
            "bread": ["sourdough", "rye bread", "brioche", "seeded bread"],
            "time": ["nine", "ten", "eight"],
        },
    },
    {
        "premise": "The rare {flower} in the botanical garden of {town} bloomed this week for the first time in {years} years, drawing long lines of visitors.",
        "yes": [
            "The {flower} in the botanical garden of {town} is blooming.",
            "Many people came to see the {flower}.",
            "The {flower} had not bloomed for {years} years.",
        ],
        "no": [
            "The {flower} blooms every year.",
            "Few people came to see the {flower}.",
            "The {flower} in {town} died this week.",
            "The botanical garden of {town} closed because of the crowds.",
        ],
        "slots": {
            "flower": ["corpse flower", "night-blooming cactus", "giant water lily", "titan orchid"],
            "town": _TOWNS,
            "years": ["seven", "twelve", "fifteen"],
        },
    },
    {
        "premise": "{name} lent {his} camera to {name2} for the school trip to {place}, and {name2} returned it with a cracked lens.",
        "yes": [
            "{name2} borrowed {name}'s camera.",
            "The lens of the camera was damaged.",
            "{name2} went on the school trip to {place}.",
            "{name2} gave the camera back.",
        ],
        "no": [
            "{name} borrowed {name2}'s camera.",
            "{name2} returned the camera in perfect condition.",
            "{name2} kept the camera.",
            "{name} broke the lens of the camera.",
        ],
        "slots": {"place": ["Rome", "the coast", "the science museum", "Edinburgh", "the mountains"]},
    },
]

# --- Paraphrase frames ------------------------------------------------------------------
# Each frame has several wordings of one meaning ("forms"), contrasts that keep most
# words but change the meaning, and slot lists as in the entailment scenes. "change"
# names the slots that a not-equivalent pair may give different values.

_FRAMES = [
    {
        "forms": [
            "{buyer} bought {target} for {amount} in {year}.",
            "In {year}, {buyer} acquired {target} for {amount}.",
            "{target} was purchased by {buyer} in {year} in a deal worth {amount}.",
            "{buyer} paid {amount} to take over {target} in {year}.",
        ],
        "contrasts": [
            "{target} bought {buyer} for {amount} in {year}.",
            "In {year}, {buyer} tried to acquire {target} for {amount}, but the deal collapsed.",
            "{buyer} sold {target} for {amount} in {year}.",
        ],
        "change": ["amount", "year"],
        "slots": {
            "deal": [
                {"buyer": "Norlake Systems", "target": "Corvid Robotics"},
                {"buyer": "Halden Foods", "target": "Greenacre Dairy"},
                {"buyer": "Amberline Energy", "target": "Solwick Power"},
                {"buyer": "Silverfern Media", "target": "Brightwell Labs"},
            ],
            "amount": ["$2.1 billion", "$450 million", "$780 million", "$3.4 billion"],
            "year": ["2016", "2019", "2021", "2022"],
        },
    },
    {
        "forms": [
            "The meeting of {group} has been postponed until {day} because of {reason}.",
            "Because of {reason}, {group} pushed its meeting back to {day}.",
            "{Group} will now meet on {day}; the delay was caused by {reason}.",
        ],
        "contrasts": [
            "The meeting of {group} has been moved forward to {day} despite {reason}.",
            "The meeting of {group} went ahead as planned on {day}, despite {reason}.",
        ],
        "change": ["day", "reason"],
        "slots": {
            "group": ["the board", "the city council", "the school committee", "the tenants' association"],
            "day": _WEEKDAYS[:5],
            "reason": ["the storm", "a scheduling conflict", "the chairman's illness", "a power cut"],
        },
    },
    {
        "forms": [
            "Temperatures in {city} reached {temp} degrees on {day}, breaking a record set in {year}.",
            "On {day}, {city} hit {temp} degrees, beating the previous record from {year}.",
            "A record set in {year} fell on {day} when the temperature in {city} climbed to {temp} degrees.",
        ],
        "contrasts": [
            "Temperatures in {city} reached {temp} degrees on {day}, just short of the record set in {year}.",
            "Temperatures in {city} were expected to reach {temp} degrees on {day}, but the record from {year} still stands.",
        ],
        "change": ["temp", "city", "year"],
        "slots": {
            "city": _CITIES,
            "temp": ["38", "41", "35", "43"],
            "day": _WEEKDAYS,
            "year": ["1976", "2003", "1990", "2019"],
        },
    },
    {
        "forms": [
            "Shares of {company} fell {pct} percent after the company reported {reason}.",
            "The stock of {company} dropped {pct} percent following a report of {reason}.",
            "After {company} disclosed {reason}, its shares lost {pct} percent of their value.",
        ],
        "contrasts": [
            "Shares of {company} rose {pct} percent after the company reported {reason}.",
            "Shares of {company} held steady even though the company reported {reason}.",
        ],
        "change": ["pct", "company"],
        "slots": {
            "company": _COMPANIES,
            "pct": ["4", "7", "12", "9"],
            "reason": ["weak sales", "a product recall", "the loss of a major customer", "higher costs"],
        },
    },
    {
        "forms": [
            "A judge in {city} ordered {company} to pay {amount} to former employees.",
            "{company} must pay {amount} to former employees, a judge in {city} ruled.",
            "Former employees of {company} are owed {amount}, according to a ruling by a judge in {city}.",
        ],
        "contrasts": [
            "A judge in {city} ruled that {company} does not have to pay {amount} to former employees.",
            "Former employees of {company} must pay {amount} to the company, a judge in {city} ruled.",
        ],
        "change": ["amount", "city"],
        "slots": {
            "city": _CITIES,
            "company": _COMPANIES,
            "amount": ["$1.2 million", "$300,000", "$4.5 million", "$860,000"],
        },
    },
    {
        "forms": [
            "{name} left {his} {item} on the {vehicle} this morning.",
            "This morning, {name} forgot {his} {item} on the {vehicle}.",
            "{name}'s {item} was left behind on the {vehicle} this morning.",
        ],
        "contrasts": [
            "{name} found an abandoned {item} on the {vehicle} this morning.",
            "{name} left {his} {item} at home this morning.",
            "{name} almost forgot {his} {item} on the {vehicle} this morning.",
        ],
        "change": ["item", "vehicle"],
        "slots": {"item": ["umbrella", "laptop", "scarf", "wallet", "notebook"], "vehicle": ["bus", "train", "tram"]},
    },
    {
        "forms": [
            "A study of {n} adults found that people who {habit} were less likely to {outcome}.",
            "People who {habit} are less likely to {outcome}, according to a study of {n} adults.",
            "In a study of {n} adults, those who {habit} were less likely to {outcome}.",
        ],
        "contrasts": [
            "A study of {n} adults found that people who {habit} were more likely to {outcome}.",
            "A study of {n} adults found no link between whether people {habit} and whether they {outcome}.",
        ],
        "change": ["n", "outcome"],
        "slots": {
            "n": ["1,200", "5,000", "800", "12,000"],
            "habit": ["walk every day", "sleep at least seven hours", "eat breakfast", "garden regularly"],
            "outcome": ["develop heart disease", "report feeling anxious", "catch colds"],
        },
    },
    {
        "forms": [
            "{airline} will add direct flights from {city} to {city2} starting in {month}.",
            "Starting in {month}, {airline} will fly nonstop from {city} to {city2}.",
            "From {month}, {airline} passengers will be able to fly directly from {city} to {city2}.",
        ],
        "contrasts": [
            "{airline} will stop its direct flights from {city} to {city2} in {month}.",
            "{airline} has delayed its plan for direct flights from {city} to {city2} until after {month}.",
        ],
        "change": ["city2", "month"],
        "slots": {
            "airline": ["Northwind Air", "SkyBridge", "Atlas Regional", "Coastline Airways"],
            "route": [
                {"city": "Lisbon", "city2": "Toronto"},
                {"city": "Denver", "city2": "Melbourne"},
                {"city": "Leeds", "city2": "Lyon"},
                {"city": "Porto", "city2": "Utrecht"},
            ],
            "month": _MONTHS,
        },
    },
    {
        "forms": [
            "{name} won the mayoral election in {town} with {pct} percent of the vote.",
            "With {pct} percent of the vote, {name} was elected mayor of {town}.",
            "Voters in {town} chose {name} as mayor, giving {him} {pct} percent of the vote.",
        ],
        "contrasts": [
            "{name} lost the mayoral election in {town} with {pct} percent of the vote.",
            "{name} won {pct} percent of the vote in {town} but was not elected mayor.",
        ],
        "change": ["pct", "town"],
        "slots": {"town": _TOWNS, "pct": ["52", "61", "48", "57"]},
    },
    {
        "forms": [
            "{company} is recalling {n} {product}s because of a faulty {part}.",
            "Because of a defective {part}, {company} has recalled {n} {product}s.",
            "{n} {product}s made by {company} are being recalled over a faulty {part}.",
        ],
        "contrasts": [
            "{company} is recalling {n} {product}s, but says the {part} is not at fault.",
            "{company} has decided not to recall its {product}s despite reports of a faulty {part}.",
        ],
        "change": ["n", "company"],
        "slots": {
            "company": ["Pemberton Home", "Kestrel Products", "Brightline Appliances", "Hollis & Grant"],
            "n": ["12,000", "40,000", "8,500", "150,000"],
            "thing": [
                {"product": "electric kettle", "part": "switch"},
                {"product": "baby stroller", "part": "latch"},
                {"product": "space heater", "part": "cable"},
                {"product": "bicycle helmet", "part": "buckle"},
            ],
        },
    },
    {
        "forms": [
            "Schools in {town} will stay closed on {day} because of {reason}.",
            "Because of {reason}, schools in {town} will not open on {day}.",
            "{Reason} will keep schools in {town} closed on {day}.",
        ],
        "contrasts": [
            "Schools in {town} will reopen on {day} after {reason}.",
            "Schools in {town} will stay open on {day} despite {reason}.",
        ],
        "change": ["day", "town"],
        "slots": {
            "town": _TOWNS,
            "day": _WEEKDAYS[:5],
            "reason": ["the heavy snow", "a burst water main", "the teachers' strike", "flooding"],
        },
    },
    {
        "forms": [
            "{author}'s new novel, {title}, sold {n} copies in its first week.",
            "In its first week, {title}, the new novel by {author}, sold {n} copies.",
            "{title}, {author}'s latest novel, had first-week sales of {n} copies.",
        ],
        "contrasts": [
            "{author}'s new novel, {title}, sold {n} copies in its first year.",
            "{author}'s new novel, {title}, was expected to sell {n} copies in its first week but fell short.",
        ],
        "change": ["n", "title"],
        "slots": {
            "author": ["Ines Carvalho", "Peter Okonjo", "Liv Halvorsen", "Sam Whitcombe"],
            "title": ["The Salt Orchard", "Winter Ledger", "A House of Small Rooms", "The Quiet Harbor"],
            "n": ["40,000", "125,000", "18,000", "260,000"],
        },
    },
    {
        "forms": [
            "The government will give {amount} to {n} rural hospitals to hire more nurses.",
            "{n} rural hospitals will receive {amount} from the government to hire more nurses.",
            "To help them hire more nurses, the government is giving {n} rural hospitals {amount}.",
        ],
        "contrasts": [
            "The government will cut {amount} from the budgets of {n} rural hospitals.",
            "The government will give {amount} to {n} rural hospitals to buy new equipment.",
        ],
        "change": ["amount", "n"],
        "slots": {"amount": ["$50 million", "$120 million", "$35 million", "$80 million"], "n": ["twelve", "forty", "seventy-five", "thirty"]},
    },
    {
        "forms": [
            "{player} has signed a {years}-year contract with {club}.",
            "{club} signed {player} to a {years}-year deal.",
            "{player} agreed to a {years}-year contract with {club}.",
        ],
        "contrasts": [
            "{player} has left {club} after {years} years.",
            "{player} turned down a {years}-year contract offer from {club}.",
        ],
        "change": ["years", "club"],
        "slots": {
            "player": ["Luca Brandt", "Amara Diallo", "Felipe Ortega", "Jana Novak"],
            "club": ["the Riverside Hawks", "the Bay City Mariners", "the Kingsport Comets", "the Ashford Lions"],
            "years": ["two", "three", "four", "five"],
        },
    },
    {
        "forms": [
            "The {street} Street bridge will be closed to traffic for {n} weeks while it is repaired.",
            "Repairs will keep the {street} Street bridge closed to traffic for {n} weeks.",
            "Cars will not be able to use the {street} Street bridge for {n} weeks during repairs.",
        ],
        "contrasts": [
            "The {street} Street bridge will stay open to traffic while it is repaired over {n} weeks.",
            "The {street} Street bridge will be closed to pedestrians for {n} weeks while it is repaired.",
        ],
        "change": ["n", "street"],
        "slots": {"street": ["Elm", "Harbor", "Mill", "Chestnut", "Station"], "n": ["three", "six", "eight", "ten"]},
    },
    {
        "forms": [
            "{name} and {his} sister opened a small {cuisine} restaurant near the train station.",
            "A small {cuisine} restaurant near the train station was opened by {name} and {his} sister.",
            "Near the train station, {name} and {his} sister have opened a small {cuisine} restaurant.",
        ],
        "contrasts": [
            "{name} and {his} sister closed their small {cuisine} restaurant near the train station.",
            "{name}'s sister opened a small {cuisine} restaurant near the train station without {him}.",
        ],
        "change": ["cuisine", "name"],
        "slots": {"cuisine": ["Persian", "Vietnamese", "Ethiopian", "Peruvian", "Lebanese"]},
    },
    {
        "forms": [
            "{company} released a new phone that costs {price} and has a battery that lasts two days.",
            "The new phone from {company} costs {price}, and its battery lasts two days.",
            "The latest phone from {company} sells for {price} and runs for two days on a single charge.",
        ],
        "contrasts": [
            "{company} released a new phone that costs {price}, but its battery lasts only half a day.",
            "{company} delayed the release of its new phone, which will cost {price}.",
        ],
        "change": ["price", "company"],
        "slots": {"company": ["Corvid Robotics", "Brightwell Labs", "Norlake Systems", "Quarry Point Software"], "price": ["$299", "$499", "$799", "$1,099"]},
    },
    {
        "forms": [
            "How can I {task}?",
            "What is the best way to {task}?",
            "What should I do to {task}?",
            "Any tips on how to {task}?",
        ],
        "contrasts": [
            "Why do people want to {task}?",
            "How long does it take to {task}?",
            "Is it worth trying to {task}?",
        ],
        "change": ["task"],
        "slots": {
            "task": [
                "learn to play the guitar", "improve my sleep", "start running",
                "save money on groceries", "learn Spanish quickly", "stop procrastinating",
            ]
        },
    },
    {
        "forms": [
            "How do I reset the password on my {device}?",
            "What are the steps to reset my {device} password?",
            "I forgot the password of my {device}. How can I reset it?",
        ],
        "contrasts": [
            "How do I turn off the password on my {device}?",
            "Why does my {device} keep asking for my password?",
        ],
        "change": ["device"],
        "slots": {"device": ["laptop", "router", "phone", "smart TV", "tablet"]},
    },
    {
        "forms": [
            "Firefighters rescued a {animal} that had been trapped in a {place} for {n} hours.",
            "A {animal} trapped in a {place} for {n} hours was rescued by firefighters.",
            "After {n} hours stuck in a {place}, a {animal} was freed by firefighters.",
        ],
        "contrasts": [
            "Firefighters failed to rescue a {animal} that had been trapped in a {place} for {n} hours.",
            "A {animal} that had been trapped in a {place} for {n} hours escaped on its own before firefighters arrived.",
        ],
        "change": ["animal", "n"],
        "slots": {
            "animal": ["cat", "dog", "goat", "fox"],
            "place": ["storm drain", "chimney", "well", "drainpipe"],
            "n": ["three", "five", "eight", "ten"],
        },
    },
    {
        "forms": [
            "Train drivers will strike for {n} days next week over pay.",
            "A {n}-day strike by train drivers over pay will take place next week.",
            "Next week, train drivers plan to walk out for {n} days in a dispute over pay.",
        ],
        "contrasts": [
            "Train drivers called off a {n}-day strike planned for next week after agreeing on pay.",
            "Train drivers will strike for {n} days next week over safety rules.",
        ],
        "change": ["n"],
        "slots": {"n": ["two", "three", "five", "four"]},
    },
    {
        "forms": [
            "The {museum} museum had {n} visitors last year, {pct} percent more than the year before.",
            "Last year {n} people visited the {museum} museum, an increase of {pct} percent on the previous year.",
            "Visitor numbers at the {museum} museum rose {pct} percent last year to {n}.",
        ],
        "contrasts": [
            "The {museum} museum had {n} visitors last year, {pct} percent fewer than the year before.",
            "The {museum} museum expects {n} visitors this year, {pct} percent more than last year.",
        ],
        "change": ["n", "pct"],
        "slots": {
            "museum": ["city", "science", "maritime", "railway"],
            "n": ["240,000", "1.1 million", "86,000", "410,000"],
            "pct": ["8", "15", "22", "5"],
        },
    },
    {
        "forms": [
            "{name} apologized for arriving late to the {event}.",
            "{name} said sorry for being late to the {event}.",
            "{name} apologized because {he} got to the {event} late.",
        ],
        "contrasts": [
            "{name} complained that others arrived late to the {event}.",
            "{name} apologized for leaving the {event} early.",
        ],
        "change": ["event", "name"],
        "slots": {"event": ["meeting", "dinner", "rehearsal", "interview", "wedding"]},
    },
    {
        "forms": [
            "Average rents in {city} rose {pct} percent this year, making it the most expensive city in the country.",
            "After a {pct} percent rise in average rents this year, {city} is now the most expensive city in the country.",
            "{city} became the most expensive city in the country after average rents went up {pct} percent this year.",
        ],
        "contrasts": [
            "Average rents in {city} fell {pct} percent this year, though it remains the most expensive city in the country.",
            "Average rents in {city} rose {pct} percent this year, but it is still cheaper than the capital.",
        ],
        "change": ["pct", "city"],
        "slots": {"city": _CITIES, "pct": ["6", "9", "11", "14"]},
    },
]

# --- Intent templates -------------------------------------------------------------------
# Each intent has eight templates as (English, French, Persian) and slot lists whose
# values are (English, French, Persian) triples, so that one choice fills all three
# languages with the same meaning.

_DAYS = [
    ("tomorrow", "demain", "فردا"),
    ("monday", "lundi", "دوشنبه"),
    ("saturday", "samedi", "شنبه"),
    ("next friday", "vendredi prochain", "جمعه~ی آینده"),
    ("thursday", "jeudi", "پنج~شنبه"),
]
_TIMES = [
    ("six am", "six heures du matin", "شش صبح"),
    ("six thirty", "six heures et demie", "شش و نیم"),
    ("seven am", "sept heures du matin", "هفت صبح"),
    ("quarter past seven", "sept heures et quart", "هفت و ربع"),
    ("eight", "huit heures", "هشت"),
    ("nine pm", "vingt et une heures", "نه شب"),
    ("noon", "midi", "دوازده ظهر"),
    ("five in the afternoon", "dix-sept heures", "پنج بعدازظهر"),
]
_INTENT_CITIES = [
    ("paris", "paris", "پاریس"),
    ("tehran", "téhéran", "تهران"),
    ("lyon", "lyon", "لیون"),
    ("shiraz", "chiraz", "شیراز"),
    ("montreal", "montréal", "مونترال"),
    ("london", "londres", "لندن"),
    ("isfahan", "ispahan", "اصفهان"),
    ("marseille", "marseille", "مارسی"),
]
_WEATHER_DAYS = [
    ("today", "aujourd'hui", "امروز"),
    ("tomorrow", "demain", "فردا"),
    ("this weekend", "ce week-end", "این آخر هفته"),
    ("tonight", "ce soir", "امشب"),
    ("on sunday", "dimanche", "یکشنبه"),
]

_INTENTS = {
    "alarm_set": {
        "templates": [
            ("wake me up at {time} {day}", "réveille-moi à {time} {day}", "{day} ساعت {time} بیدارم کن"),
            ("set an alarm for {time}", "mets une alarme à {time}", "یک زنگ هشدار برای ساعت {time} بگذار"),
            ("i need an alarm at {time} {day}", "il me faut une alarme à {time} {day}", "{day} ساعت {time} زنگ هشدار لازم دارم"),
            ("can you set my alarm for {time} {day}", "tu peux régler mon réveil à {time} {day}", "می~توانی زنگ ساعتم را برای {day} ساعت {time} تنظیم کنی"),
            ("please make sure i'm up by {time}", "fais en sorte que je sois debout à {time}", "مطمئن شو که تا ساعت {time} بیدار شده~ام"),
            ("alarm for {time} {day} please", "une alarme à {time} {day} s'il te plaît", "لطفاً یک آلارم برای {day} ساعت {time} بگذار"),
            ("don't let me oversleep, ring at {time}", "ne me laisse pas trop dormir, sonne à {time}", "نگذار خواب بمانم، ساعت {time} زنگ بزن"),
            ("create a new alarm for {day} at {time}", "crée une nouvelle alarme pour {day} à {time}", "یک هشدار جدید برای {day} ساعت {time} بساز"),
        ],
        "slots": {"time": _TIMES, "day": _DAYS},
    },
    "weather_query": {
        "templates": [
            ("what's the weather in {city} {day}", "il fait quel temps à {city} {day}", "هوای {city} {day} چطور است"),
            ("will it rain in {city} {day}", "est-ce qu'il va pleuvoir à {city} {day}", "آیا {day} در {city} باران می~آید"),
            ("do i need an umbrella in {city} {day}", "est-ce que je dois prendre un parapluie à {city} {day}", "آیا {day} در {city} چتر لازم دارم"),
            ("how warm will it be in {city} {day}", "quelle température fera-t-il à {city} {day}", "{day} هوای {city} چند درجه است"),
            ("give me the forecast for {city} {day}", "donne-moi la météo de {city} pour {day}", "پیش~بینی هوای {city} برای {day} را بگو"),
            ("is it going to be sunny in {city} {day}", "est-ce qu'il va faire beau à {city} {day}", "آیا {day} هوای {city} آفتابی است"),
            ("should i wear a coat in {city} {day}", "faut-il mettre un manteau à {city} {day}", "آیا {day} در {city} باید کاپشن بپوشم"),
            ("tell me if it will snow in {city} {day}", "dis-moi s'il va neiger à {city} {day}", "بگو آیا {day} در {city} برف می~بارد"),
        ],
        "slots": {"city": _INTENT_CITIES, "day": _WEATHER_DAYS},
    },
    "play_music": {
        "templates": [
            ("play {genre}", "joue {genre}", "{genre} پخش کن"),
            ("put on some {genre}", "mets {genre}", "کمی {genre} بگذار"),
            ("i want to listen to {genre}", "je veux écouter {genre}", "می~خواهم {genre} گوش کنم"),
            ("start a playlist of {genre}", "lance une playlist avec {genre}", "یک لیست پخش از {genre} شروع کن"),
            ("can you play {genre} in the living room", "tu peux mettre {genre} dans le salon", "می~توانی در پذیرایی {genre} پخش کنی"),
            ("i'd like some {genre} while i cook", "j'aimerais {genre} pendant que je cuisine", "وقتی آشپزی می~کنم {genre} می~خواهم"),
            ("put {genre} on the speaker", "mets {genre} sur l'enceinte", "{genre} را روی بلندگو پخش کن"),
            ("let me hear {genre}", "fais-moi écouter {genre}", "برایم {genre} بگذار"),
        ],
        "slots": {
            "genre": [
                ("jazz", "du jazz", "جاز"),
                ("classical music", "de la musique classique", "موسیقی کلاسیک"),
                ("rock", "du rock", "راک"),
                ("persian pop", "de la pop persane", "پاپ ایرانی"),
                ("hip hop", "du hip-hop", "هیپ~هاپ"),
                ("piano music", "de la musique au piano", "موسیقی پیانو"),
                ("old french songs", "de vieilles chansons françaises", "آهنگ~های قدیمی فرانسوی"),
                ("upbeat songs", "des chansons entraînantes", "آهنگ~های شاد"),
            ]
        },
    },
    "calendar_set": {
        "templates": [
            ("add {event} to my calendar for {day}", "ajoute {event} à mon agenda pour {day}", "{event} را برای {day} به تقویمم اضافه کن"),
            ("schedule {event} for {day} at {time}", "programme {event} pour {day} à {time}", "{event} را برای {day} ساعت {time} تنظیم کن"),
            ("put {event} in my agenda for {day}", "note {event} dans mon agenda pour {day}", "{event} را برای {day} در دفتر برنامه~ام یادداشت کن"),
            ("remind me about {event} {day}", "rappelle-moi {event} {day}", "{day} {event} را یادم بینداز"),
            ("book {event} in my calendar {day} at {time}", "inscris {event} dans mon calendrier {day} à {time}", "{event} را {day} ساعت {time} در تقویم ثبت کن"),
            ("save {event} for {day} in my calendar", "enregistre {event} pour {day} dans mon calendrier", "{event} را برای {day} در تقویمم ذخیره کن"),
            ("block my calendar {day} at {time} for {event}", "bloque mon agenda {day} à {time} pour {event}", "تقویمم را {day} ساعت {time} برای {event} رزرو کن"),
            ("set up {event} for {day}", "prévois {event} pour {day}", "{event} را برای {day} برنامه~ریزی کن"),
        ],
        "slots": {
            "event": [
                ("a meeting with sara", "une réunion avec sara", "یک جلسه با سارا"),
                ("lunch with omid", "un déjeuner avec omid", "ناهار با امید"),
                ("a dentist appointment", "un rendez-vous chez le dentiste", "وقت دندانپزشکی"),
                ("my sister's birthday", "l'anniversaire de ma sœur", "تولد خواهرم"),
                ("a call with the bank", "un appel avec la banque", "تماس با بانک"),
                ("yoga class", "le cours de yoga", "کلاس یوگا"),
            ],
            "day": _DAYS,
            "time": _TIMES,
        },
    },
    "takeaway_order": {
        "templates": [
            ("order {food} for delivery", "commande {food} en livraison", "{food} برای تحویل در خانه سفارش بده"),
            ("i want to order {food} {place}", "je veux commander {food} {place}", "می~خواهم {food} {place} سفارش بدهم"),
            ("get {food} delivered {place}", "fais-moi livrer {food} {place}", "بگو {food} {place} برایم بیاورند"),
            ("i'm hungry, order {food}", "j'ai faim, commande {food}", "گرسنه~ام، {food} سفارش بده"),
            ("place a takeaway order for {food}", "passe une commande à emporter : {food}", "یک سفارش بیرون~بر برای {food} ثبت کن"),
            ("order {food} {place} for tonight", "commande {food} {place} pour ce soir", "برای امشب {food} {place} سفارش بده"),
            ("i'd like {food} to go", "je voudrais {food} à emporter", "{food} بیرون~بر می~خواهم"),
            ("send an order for {food} {place}", "envoie une commande pour {food} {place}", "سفارش {food} {place} را ثبت کن"),
        ],
        "slots": {
            "food": [
                ("a large pizza", "une grande pizza", "یک پیتزای بزرگ"),
                ("two falafel wraps", "deux wraps aux falafels", "دو ساندویچ فلافل"),
                ("sushi", "des sushis", "سوشی"),
                ("a chicken kebab", "un kebab au poulet", "یک کباب مرغ"),
                ("pad thai", "un pad thaï", "پدتای"),
                ("a veggie burger", "un burger végétarien", "یک همبرگر گیاهی"),
            ],
            "place": [
                ("from luigi's", "de chez luigi", "از رستوران لوئیجی"),
                ("from the place around the corner", "du restaurant du coin", "از رستوران سر کوچه"),
                ("from our usual restaurant", "de notre restaurant habituel", "از رستوران همیشگی~مان"),
            ],
        },
    },
    "transport_ticket": {
        "templates": [
            ("book a train ticket to {city} for {day}", "réserve un billet de train pour {city} {day}", "یک بلیت قطار به {city} برای {day} رزرو کن"),
            ("i need two bus tickets to {city}", "il me faut deux billets de bus pour {city}", "دو بلیت اتوبوس به {city} لازم دارم"),
            ("get me a seat on the first train to {city} {day}", "trouve-moi une place dans le premier train pour {city} {day}", "یک صندلی در اولین قطار {day} به {city} برایم بگیر"),
            ("buy a return ticket to {city} for {day}", "achète un aller-retour pour {city}, départ {day}", "یک بلیت رفت و برگشت به {city} برای {day} بخر"),
            ("if there's a seat left on the train to {city} {day}, book it", "s'il reste une place dans le train pour {city} {day}, réserve-la", "اگر در قطار {day} به {city} جا هست، رزروش کن"),
            ("book me a coach ticket to {city}", "réserve-moi un billet de car pour {city}", "برایم یک بلیت اتوبوس بین~شهری به {city} رزرو کن"),
            ("i want to go to {city} by train {day}, buy the ticket", "je veux aller à {city} en train {day}, achète le billet", "می~خواهم {day} با قطار به {city} بروم، بلیتش را بخر"),
            ("purchase a one-way ticket to {city}", "achète un aller simple pour {city}", "یک بلیت یک~طرفه به {city} بخر"),
        ],
        "slots": {"city": _INTENT_CITIES, "day": _DAYS},
    },
    "iot_hue_lightoff": {
        "templates": [
            ("turn off the lights in the {room}", "éteins les lumières dans {room}", "چراغ~های {room} را خاموش کن"),
            ("switch off the {room} light", "éteins la lumière de {room}", "چراغ {room} را خاموش کن"),
            ("cut the lights in the {room}", "coupe la lumière dans {room}", "نور {room} را قطع کن"),
            ("can you turn the lamps off in the {room}", "tu peux éteindre les lampes dans {room}", "می~توانی لامپ~های {room} را خاموش کنی"),
            ("it's too bright in the {room}, turn the lights off", "il y a trop de lumière dans {room}, éteins tout", "{room} خیلی روشن است، چراغ~ها را خاموش کن"),
            ("i'm going to bed, switch off the {room} lamps", "je vais me coucher, éteins les lampes de {room}", "می~خواهم بخوابم، لامپ~های {room} را خاموش کن"),
            ("lights off in the {room} please", "plus de lumière dans {room} s'il te plaît", "لطفاً چراغ~های {room} را خاموش کن"),
            ("turn every light in the {room} off", "éteins toutes les lumières de {room}", "همه~ی چراغ~های {room} را خاموش کن"),
        ],
        "slots": {
            "room": [
                ("kitchen", "la cuisine", "آشپزخانه"),
                ("bedroom", "la chambre", "اتاق خواب"),
                ("living room", "le salon", "پذیرایی"),
                ("bathroom", "la salle de bain", "حمام"),
                ("hallway", "le couloir", "راهرو"),
                ("office", "le bureau", "اتاق کار"),
            ]
        },
    },
    "datetime_query": {
        "templates": [
            ("what time is it in {city}", "quelle heure est-il à {city}", "الان در {city} ساعت چند است"),
            ("what's the time in {city} right now", "il est quelle heure à {city} en ce moment", "به وقت {city} همین الان ساعت چند است"),
            ("tell me the current time in {city}", "donne-moi l'heure actuelle à {city}", "ساعت فعلی {city} را بگو"),
            ("what's the date today in {city}", "quelle est la date d'aujourd'hui à {city}", "امروز در {city} چه تاریخی است"),
            ("is it evening yet in {city}", "est-ce que c'est déjà le soir à {city}", "آیا در {city} الان عصر شده است"),
            ("how many hours ahead is {city}", "{city} a combien d'heures d'avance", "{city} چند ساعت جلوتر است"),
            ("what day of the week is it in {city}", "quel jour de la semaine sommes-nous à {city}", "در {city} امروز چندشنبه است"),
            ("check the local time in {city} for me", "vérifie l'heure locale à {city}", "ساعت محلی {city} را برایم نگاه کن"),
        ],
        "slots": {"city": _INTENT_CITIES},
    },
    "general_joke": {
        "templates": [
            ("tell me a joke about {topic}", "raconte-moi une blague sur {topic}", "یک جوک درباره~ی {topic} برایم تعریف کن"),
            ("do you know any funny jokes about {topic}", "tu connais des blagues drôles sur {topic}", "جوک خنده~داری درباره~ی {topic} بلدی"),
            ("make me laugh with something about {topic}", "fais-moi rire avec un truc sur {topic}", "با یک چیز درباره~ی {topic} مرا بخندان"),
            ("i need a good laugh, got a joke about {topic}", "j'ai besoin de rire, t'as une blague sur {topic}", "دلم یک خنده~ی حسابی می~خواهد، جوکی درباره~ی {topic} داری"),
            ("say something funny about {topic}", "dis quelque chose de drôle sur {topic}", "یک چیز بامزه درباره~ی {topic} بگو"),
            ("what's the best joke you know about {topic}", "c'est quoi la meilleure blague que tu connais sur {topic}", "بهترین جوکی که درباره~ی {topic} بلدی چیست"),
            ("cheer me up with a joke about {topic}", "remonte-moi le moral avec une blague sur {topic}", "با یک جوک درباره~ی {topic} حالم را خوب کن"),
            ("another joke about {topic} please", "encore une blague sur {topic} s'il te plaît", "لطفاً یک جوک دیگر درباره~ی {topic}"),
        ],
        "slots": {
            "topic": [
                ("cats", "les chats", "گربه~ها"),
                ("computers", "les ordinateurs", "کامپیوترها"),
                ("teachers", "les profs", "معلم~ها"),
                ("doctors", "les médecins", "دکترها"),
                ("football", "le foot", "فوتبال"),
                ("cooking", "la cuisine", "آشپزی"),
                ("mondays", "les lundis", "دوشنبه~ها"),
            ]
        },
    },
    "news_query": {
        "templates": [
            ("what's the latest news about {topic}", "quelles sont les dernières nouvelles sur {topic}", "آخرین خبرها درباره~ی {topic} چیست"),
            ("give me today's headlines on {topic}", "donne-moi les gros titres du jour sur {topic}", "تیترهای امروز درباره~ی {topic} را بگو"),
            ("any updates on {topic}", "du nouveau sur {topic}", "خبر تازه~ای درباره~ی {topic} هست"),
            ("read me the news about {topic}", "lis-moi les actualités sur {topic}", "اخبار {topic} را برایم بخوان"),
            ("what happened with {topic} today", "que s'est-il passé aujourd'hui avec {topic}", "امروز در مورد {topic} چه اتفاقی افتاد"),
            ("brief me on {topic} from the morning papers", "résume-moi les journaux du matin sur {topic}", "خلاصه~ی روزنامه~های صبح درباره~ی {topic} را بگو"),
            ("is there any breaking news about {topic}", "y a-t-il des infos de dernière minute sur {topic}", "آیا خبر فوری درباره~ی {topic} هست"),
            ("catch me up on the news about {topic}", "mets-moi à jour sur l'actualité de {topic}", "مرا در جریان اخبار {topic} بگذار"),
        ],
        "slots": {
            "topic": [
                ("the elections", "les élections", "انتخابات"),
                ("the economy", "l'économie", "اقتصاد"),
                ("climate change", "le changement climatique", "تغییرات اقلیمی"),
                ("the champions league", "la ligue des champions", "لیگ قهرمانان"),
                ("space exploration", "l'exploration spatiale", "اکتشافات فضایی"),
                ("technology", "la technologie", "فناوری"),
                ("the housing market", "le marché immobilier", "بازار مسکن"),
            ]
        },
    },
}

# French joins "de" and "à" with a following "le" or "les"; the templates write them apart.
_FRENCH_CONTRACTIONS = [
    (re.compile(r"\bde le\b"), "du"),
    (re.compile(r"\bde les\b"), "des"),
    (re.compile(r"\bà le\b"), "au"),
    (re.compile(r"\bà les\b"), "aux"),
]


# --- Filling templates ------------------------------------------------------------------


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _draw_slots(rng: random.Random, slot_lists: dict) -> dict[str, str]:
    """Draw one value per slot list, another value as ``other_<slot>``, and a person."""
    slots: dict[str, str] = {}
    for key, values in slot_lists.items():
        value, other = rng.sample(values, 2) if len(values) > 1 else (values[0], values[0])
        if isinstance(value, dict):
            slots.update(value)
            slots.update({f"other_{k}": v for k, v in other.items()})
        else:
            slots[key] = value
            slots[f"other_{key}"] = other
    (name, gender), (name2, _) = rng.sample(_PEOPLE, 2)
    # Another person of the same gender, so that the pronouns still fit.
    other_name = rng.choice([p for p, g in _PEOPLE if g == gender and p != name])
    he, his, him = _PRONOUNS[gender]
    slots.update(name=name, name2=name2, other_name=other_name, he=he, his=his, him=him)
    slots.update({_capitalize(key): _capitalize(value) for key, value in list(slots.items())})
    return slots


def _fill(template: str, slots: dict[str, str]) -> str:
    return _capitalize(template.format(**slots))


def entailment_rows(seed: int = SEED) -> list[dict]:
    """Return the entailment pairs: ``id, premise, hypothesis, label``, half of each label."""
    rng = random.Random(seed)
    rows, seen = [], set()
    for scene in _SCENES:
        counts = {"entailment": 0, "not_entailment": 0}
        draws = 0
        while min(counts.values()) < PAIRS_PER_SCENE // 2:
            draws += 1
            if draws > _MAX_DRAWS:
                raise RuntimeError(f"scene {scene['premise']!r} has too few distinct pairs")
            slots = _draw_slots(rng, scene["slots"])
            premise = _fill(scene["premise"], slots)
            for label, key in (("entailment", "yes"), ("not_entailment", "no")):
                if counts[label] >= PAIRS_PER_SCENE // 2:
                    continue
                hypotheses = scene[key]
                hypothesis = _fill(hypotheses[counts[label] % len(hypotheses)], slots)
                if (premise, hypothesis) in seen:
                    continue
                seen.add((premise, hypothesis))
                rows.append({"premise": premise, "hypothesis": hypothesis, "label": label})
                counts[label] += 1
    return _shuffle_with_ids(rows, rng)


def paraphrase_rows(seed: int = SEED) -> list[dict]:
    """Return the paraphrase pairs: ``id, sentence1, sentence2, label``, half of each label.

    A not-equivalent pair is either a wording next to a contrast with the same slots, or
    two wordings whose slots differ in one of the frame's ``change`` slots.
    """
    rng = random.Random(seed)
    rows, seen = [], set()
    for frame in _FRAMES:
        counts = {"equivalent": 0, "not_equivalent": 0}
        draws = 0
        while min(counts.values()) < PAIRS_PER_FRAME // 2:
            draws += 1
            if draws > _MAX_DRAWS:
                raise RuntimeError(f"frame {frame['forms'][0]!r} has too few distinct pairs")
            slots = _draw_slots(rng, frame["slots"])
            first, second = rng.sample(frame["forms"], 2)
            if counts["equivalent"] < PAIRS_PER_FRAME // 2:
                pair = (_fill(first, slots), _fill(second, slots))
                counts["equivalent"] += _add_pair(rows, seen, pair, "equivalent")
            if counts["not_equivalent"] < PAIRS_PER_FRAME // 2:
                if counts["not_equivalent"] % 2 == 0:
                    contrast = rng.choice(frame["contrasts"])
                    pair = (_fill(first, slots), _fill(contrast, slots))
                else:
                    changed = rng.choice(frame["change"])
                    other = _with_other_value(slots, changed)
                    pair = (_fill(first, slots), _fill(second, other))
                if rng.random() < 0.5:
                    pair = pair[::-1]
                counts["not_equivalent"] += _add_pair(rows, seen, pair, "not_equivalent")
    return _shuffle_with_ids(rows, rng)


def _with_other_value(slots: dict[str, str], key: str) -> dict[str, str]:
    """Return a copy of ``slots`` where ``key`` takes its ``other_`` value."""
    changed = dict(slots)
    changed[key] = slots[f"other_{key}"]
    changed[_capitalize(key)] = _capitalize(changed[key])
    return changed


def _add_pair(rows: list[dict], seen: set, pair: tuple[str, str], label: str) -> int:
    """Append a pair unless it (in either order) is already there; return how many were added."""
    if pair in seen or pair[::-1] in seen or pair[0] == pair[1]:
        return 0
    seen.add(pair)
    rows.append({"sentence1": pair[0], "sentence2": pair[1], "label": label})
    return 1


def _shuffle_with_ids(rows: list[dict], rng: random.Random) -> list[dict]:
    rng.shuffle(rows)
    return [{"id": str(i), **row} for i, row in enumerate(rows, start=1)]


def _localize(text: str, language: str) -> str:
    if language == "fr":
        for pattern, replacement in _FRENCH_CONTRACTIONS:
            text = pattern.sub(replacement, text)
    if language == "fa":
        text = text.replace(_ZWNJ_MARK, _ZWNJ)
    return text


def intent_rows(seed: int = SEED) -> dict[str, list[dict]]:
    """Return the intent utterances per language: ``id, locale, intent, utt``.

    Row ``i`` of every language is the same request, drawn once and written in all three
    languages; the templates of each intent are used equally often.
    """
    rng = random.Random(seed)
    requests = []
    for intent in STARTER_INTENTS:
        spec = _INTENTS[intent]
        keys = list(spec["slots"])
        combinations = []
        for index, template in enumerate(spec["templates"]):
            needed = [key for key in keys if "{" + key + "}" in template[0]]
            for values in _product([spec["slots"][key] for key in needed]):
                combinations.append((index, dict(zip(needed, values))))
        rng.shuffle(combinations)
        chosen = _balanced(combinations, len(spec["templates"]), UTTERANCES_PER_INTENT, intent)
        for index, values in chosen:
            template = spec["templates"][index]
            texts = [
                _localize(template[i].format(**{k: v[i] for k, v in values.items()}), language)
                for i, language in enumerate(STARTER_LANGUAGES)
            ]
            requests.append((intent, texts))

    rng.shuffle(requests)
    by_language: dict[str, list[dict]] = {language: [] for language in STARTER_LANGUAGES}
    for number, (intent, texts) in enumerate(requests, start=1):
        for (language, locale), text in zip(STARTER_LANGUAGES.items(), texts):
            by_language[language].append(
                {"id": str(number), "locale": locale, "intent": intent, "utt": text}
            )
    return by_language


def _product(lists: list[list]) -> list[tuple]:
    combinations: list[tuple] = [()]
    for values in lists:
        combinations = [combo + (value,) for combo in combinations for value in values]
    return combinations


def _balanced(combinations: list, templates: int, size: int, intent: str) -> list:
    """Take ``size`` combinations, cycling over the templates so that each is used equally."""
    queues = {index: [c for c in combinations if c[0] == index] for index in range(templates)}
    chosen = []
    while len(chosen) < size:
        progressed = False
        for index in range(templates):
            if queues[index] and len(chosen) < size:
                chosen.append(queues[index].pop())
                progressed = True
        if not progressed:
            raise RuntimeError(f"intent {intent!r} has fewer than {size} distinct utterances")
    return chosen


# --- Writing ----------------------------------------------------------------------------


def _write_jsonl(rows: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_starter_files(folder: str | Path) -> list[Path]:
    """Write every starter file into ``folder`` and return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / ENTAILMENT_FILE, folder / PARAPHRASE_FILE]
    _write_jsonl(entailment_rows(), paths[0])
    _write_jsonl(paraphrase_rows(), paths[1])
    for language, rows in intent_rows().items():
        paths.append(folder / intents_file(language))
        _write_jsonl(rows, paths[-1])
    return paths


def main(argv: list[str] | None = None) -> None:
    """Write the starter files into the given folder, or beside this module."""
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else Path(__file__).parent
    for path in write_starter_files(folder):
        print(path)


if __name__ == "__main__":
    main()
