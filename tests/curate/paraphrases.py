"""Hand-written paraphrases of GSM8K and MATH-500 test items, for the decontamination tests.

What they are, honestly: each text below was written by hand for this test suite by the
engineer who built rlvr.curate (an AI model), reading the benchmark item and restating the
same problem (same quantities, same answer) with different wording and sentence order. They
were not produced by a program. They are deliberately not light edits: most sentences are
restructured, synonyms replace content words where natural, and questions are rephrased, so a
word 8-gram check finds little or nothing in most of them.

Two sets. GSM8K / MATH500 were written first and then used, together with clean reasoning-gym
tasks, to choose the paraphrase retrieval thresholds (so recall on them is optimistic); the
tests hold it to a fixed floor. HELD_OUT_* were written after every threshold was fixed and are
only measured (benchmarks/decontam.py), which is the honest estimate of recall on new text.

Keys are benchmark item ids (the `id` field of ../shared/data/benchmarks/*.jsonl).
"""

from __future__ import annotations

GSM8K: dict[str, str] = {
    "gsm8k-test-0000": (
        "Every day the ducks that Janet keeps produce 16 eggs. Each morning she has 3 of them for breakfast, "
        "and she uses another 4 daily when baking muffins for her friends. Whatever eggs are left she sells "
        "at the farmers' market at $2 apiece. What are her daily earnings at the market, in dollars?"
    ),
    "gsm8k-test-0001": (
        "To make one robe you need 2 bolts of blue fabric plus white fabric amounting to half of the blue. "
        "Altogether, how many bolts does one robe require?"
    ),
    "gsm8k-test-0002": (
        "Josh wants to flip a property. He pays $80,000 for a house and spends a further $50,000 fixing it up, "
        "which raises the home's value by 150%. What is his profit?"
    ),
    "gsm8k-test-0003": (
        "Three times each week James goes out and does 3 sprints, covering 60 meters in every sprint. "
        "What distance in meters does he run per week?"
    ),
    "gsm8k-test-0005": (
        "Kylar needs 16 glasses for his new flat. A single glass is priced at $5, though every second glass "
        "he buys is charged at only 60% of that price. What will the 16 glasses cost him in total?"
    ),
    "gsm8k-test-0006": (
        "Seattle has 20 sheep. Charleston owns 4 times as many sheep as Seattle, and Toulouse owns twice "
        "as many as Charleston. What is the combined number of sheep in the three places?"
    ),
    "gsm8k-test-0009": (
        "For her first 40 hours of work in a week Eliza is paid $10 an hour, and any overtime is paid at "
        "1.2 times that hourly wage. She put in 45 hours this week. What did she earn this week?"
    ),
    "gsm8k-test-0010": (
        "A newly released app was downloaded 60 times during its first month. Month two saw triple the "
        "first month's downloads, while month three fell 30% below month two. Over those three months, "
        "what was the total number of downloads?"
    ),
    "gsm8k-test-0011": (
        "At the bakery Toula picked up 3 dozen donuts priced at $68 a dozen, 2 dozen mini cupcakes at "
        "$80 a dozen and 6 dozen mini cheesecakes at $55 a dozen. What did she pay altogether?"
    ),
    "gsm8k-test-0012": (
        "Planting a lemon tree costs Carlos $90. The tree yields 7 lemons a year that he sells for $1.5 "
        "each, while watering and feeding it costs him $3 every year. After how many years will the tree "
        "begin to make him money?"
    ),
    "gsm8k-test-0013": (
        "Melanie sells vacuum cleaners door to door. At the green house she sold one third of her stock, "
        "at the red house she sold 2 more, and at the orange house she sold half of the ones remaining. "
        "She now has 5 left. How many vacuum cleaners did she have at the start?"
    ),
    "gsm8k-test-0014": (
        "A dance class has 20 students. 20% of them signed up for contemporary, a quarter (25%) of the "
        "others chose jazz, and everyone else took hip-hop. What percent of the whole class is doing hip-hop?"
    ),
    "gsm8k-test-0016": (
        "Leaving San Rafael together, two trains head west and each covers 80 miles. On the following day "
        "both go north for 150 miles. Over the two days, how far has each train gone?"
    ),
    "gsm8k-test-0017": (
        "Jill earns $20 an hour as a teacher and $30 an hour as a cheerleading coach. Each year she works "
        "50 weeks, putting in 35 hours of teaching and 15 hours of coaching every week. How much does she "
        "make in a year?"
    ),
    "gsm8k-test-0018": (
        "For breakfast each morning Claire cooks an omelet using 3 eggs. Over a period of 4 weeks, how many "
        "dozen eggs does she get through?"
    ),
    "gsm8k-test-0019": (
        "Marissa sets out on a trail that is 12 miles long. The first 4 miles take her 1 hour and the next "
        "2 miles take her another hour. To average 4 miles per hour over the whole trail, how fast, in miles "
        "per hour, must she cover the rest?"
    ),
    "gsm8k-test-0021": (
        "Samantha is Raymond's cousin and was born 6 years after him. Raymond became a father at 23. "
        "Samantha is 31 today. How many years ago was Raymond's son born?"
    ),
    "gsm8k-test-0022": (
        "On Tuesday Billy, who sells DVDs, had 8 customers. The first 3 bought a single DVD apiece, the "
        "following 2 bought 2 DVDs apiece, and the final 3 bought nothing. How many DVDs were sold that Tuesday?"
    ),
    "gsm8k-test-0023": (
        "A burning candle loses 2 centimeters of height per hour. If it burns from 1:00 PM until 5:00 PM, "
        "by how many centimeters will it have shrunk?"
    ),
    "gsm8k-test-0024": (
        "Last year's bestseller cost Kyle $19.50 after a 25% discount was applied. What was the book's "
        "price before the discount?"
    ),
    "gsm8k-test-0026": (
        "Mishka purchased 3 pairs each of shorts, pants and shoes. Shorts are $16.50 a pair, pants $22.50 "
        "a pair and shoes $42 a pair. What was Mishka's total spending on clothes, in dollars?"
    ),
    "gsm8k-test-0027": (
        "Each night Cynthia has a single serving of ice cream. A carton holds 15 servings and sells for "
        "$4.00. What will she have spent on ice cream at the end of 60 days?"
    ),
    "gsm8k-test-0028": (
        "On a bike ride of 60 miles Henry stopped twice: first after riding 20 miles, and again 15 miles "
        "short of the finish. What distance did he cover between the two stops?"
    ),
    "gsm8k-test-0030": (
        "The ages of Darrell and Allen are in a 7:11 ratio and currently add up to 162. How old will Allen "
        "be in 10 years?"
    ),
    "gsm8k-test-0031": (
        "Gunter asks his friends to guess the number of jelly beans in a jar. The first friend guesses 80, "
        "the second guesses 20 more than half of that, and the third guesses 25% above the first guess. "
        "What is the mean of the three guesses?"
    ),
    "gsm8k-test-0032": (
        "John looks after 10 dogs, and walking and caring for each dog takes .5 hours per day. How many "
        "hours per week go into caring for the dogs?"
    ),
    "gsm8k-test-0033": (
        "Gretchen owns 110 coins in total, and she has 30 more gold coins than silver ones. How many of her "
        "coins are gold?"
    ),
    "gsm8k-test-0034": (
        "Raymond owns 40 jewels. Aaron owns 5 more than half of Raymond's, and Siobhan owns 2 fewer than "
        "Aaron. How many jewels belong to Siobhan?"
    ),
    "gsm8k-test-0035": (
        "During a 40 minute game of ping pong, Mike gets 4 points in the opening 20 minutes and 25% more "
        "points than that in the last 20 minutes. What is his point total?"
    ),
    "gsm8k-test-0036": (
        "Terry has 2 yogurts every day. The store is selling them on offer, 4 yogurts for $5.00. How much "
        "will he spend on yogurt across 30 days?"
    ),
    "gsm8k-test-0037": (
        "John owns 13 lego sets and sells them at $15 apiece so he can buy video games. He buys 8 games at "
        "$20 each and ends up with $5 left over. How many lego sets are still his?"
    ),
    "gsm8k-test-0038": (
        "Running on 3 days each week, John covers 60 miles weekly. On the first day he runs for 3 hours, "
        "and on each of the other two days he runs half that long. What is his running speed?"
    ),
    "gsm8k-test-0039": (
        "Dana runs four times as fast as she walks, and she skips at half her running speed. Her skipping "
        "speed is 3 miles per hour. In six hours, spending one-third of the time running and two-thirds "
        "walking, how far can she go?"
    ),
    "gsm8k-test-0008": (
        "After driving 3 hours at 60 mph, John realises he left something important at home and heads back. "
        "He wants to be home within 4 hours, but the first 2 of them are spent stuck in traffic. He then "
        "drives half an hour at 30 mph and for the rest of the 4 hours travels at 80 mph. When the 4 hours "
        "are up, how far from home is he?"
    ),
    "gsm8k-test-0025": (
        "Marie bought a chicken meal for $12, 5 packs of milk at $3 a pack, 4 apples at $1.50 apiece and a "
        "few boxes of pizza at $8.50 a box. Her bill came to $50. How many pizza boxes did she buy?"
    ),
    "gsm8k-test-0029": (
        "Gloria found boots within her shoe budget, but she could instead buy two pairs of high heels that "
        "together come to five dollars less than the boots. One pair of heels is $33 and the second pair is "
        "double that. What do the boots cost in dollars?"
    ),
    "gsm8k-test-0020": (
        "I've got 10 liters of orange drink, two-thirds of which is water, and I'm adding it to 15 liters "
        "of pineapple drink that is three-fifths water. While pouring I spill a liter of the orange drink. "
        "In the 24 liters I end up with, how much is water?"
    ),
    "gsm8k-test-0015": (
        "A merchant has to pick one of 2 purchases: $5,000 of jewelry or $8,000 of electronic gadgets. His "
        "advisor expects jewelry to rise by 2.5% and electronic gadgets by 1.2% over the same month. If he "
        "chooses to maximise his profit by the month's end, how much profit will he make?"
    ),
}

MATH500: dict[str, str] = {
    "test/precalculus/807.json": (
        "Express the rectangular point $(0,3)$ in polar form $(r,\\theta)$ with $r > 0$ and "
        "$0 \\le \\theta < 2 \\pi$."
    ),
    "test/algebra/2584.json": (
        "Let $f(x) = \\frac{3x-2}{x-2}$. Give $f(-2) + f(-1) + f(0)$ as a common fraction."
    ),
    "test/number_theory/572.json": "Count the positive integer divisors of 196.",
    "test/prealgebra/1622.json": (
        "Six equilateral triangles make up a regular hexagon. One triangle has a perimeter of 21 inches. "
        "Find the hexagon's perimeter in inches."
    ),
    "test/number_theory/515.json": (
        "Find the least positive perfect cube that equals the sum of three consecutive integers."
    ),
    "test/algebra/2036.json": (
        "Find the distance between $(2, -6)$ and $(-4, 3)$, giving the answer in simplest radical form."
    ),
    "test/number_theory/1032.json": (
        "Find the smallest positive multiple of 30 whose decimal digits are all 0s and 2s."
    ),
    "test/intermediate_algebra/134.json": "Evaluate the alternating sum $1-2+3-4+5- \\dots +99-100$.",
    "test/algebra/1098.json": "Compute $(1+2i)6-3i$ and simplify.",
    "test/intermediate_algebra/607.json": (
        "Without a calculator, determine the largest integer that is smaller than $(\\sqrt{7} + \\sqrt{5})^6$."
    ),
    "test/algebra/2193.json": "Solve $x = \\!\\sqrt{11-2x} + 4$ for every possible value of $x$.",
    "test/counting_and_probability/525.json": (
        "Seven people, among them Pierre, Rosa and Thomas, are seated at a round table, and no two of those "
        "3 may be neighbours. Counting seatings that differ by a rotation as identical, how many arrangements "
        "are there?"
    ),
    "test/precalculus/779.json": (
        "Rotate the complex number $7 + 2i$ counter-clockwise by $90^\\circ$ about the origin. Which complex "
        "number do you get?"
    ),
    "test/number_theory/864.json": "Multiply $6_8$ by $7_8$ and write the product in base $8$.",
    "test/prealgebra/1302.json": "Write $\\sqrt{242}$ in simplest form.",
    "test/counting_and_probability/134.json": (
        "Eight people sit at a round table, and three of them, Pierre, Rosa and Thomas, insist on sitting "
        "side by side. If rotations of a seating count as the same seating, how many seatings are possible?"
    ),
    "test/algebra/1072.json": (
        "A geometric sequence begins $\\frac{125}{9}, \\frac{25}{3}, 5, 3, \\ldots$. Give its 8th term as "
        "a common fraction."
    ),
    "test/number_theory/627.json": (
        "Given $n \\equiv 2 \\pmod{7}$, what remainder does $(n + 2)(n + 4)(n + 6)$ leave on division by 7?"
    ),
    "test/geometry/967.json": (
        "Through how many degrees, at minimum, must a regular pentagon turn counterclockwise about its "
        "centre before it lands exactly on its starting position?"
    ),
    "test/algebra/24.json": (
        "A small tin of peaches contains $40$ calories, which is $2\\%$ of someone's daily calorie needs. "
        "How many calories does that person need per day?"
    ),
    "test/number_theory/45.json": (
        "Take the greatest common factor of 6432 and 132 and add 11. What number results?"
    ),
    "test/algebra/2214.json": (
        "Writing the solution set of $-4 < 2(x - 1) < 8$ as $a < x < b$, compute $a + b$."
    ),
    "test/prealgebra/1558.json": (
        "Bill goes $\\frac{1}{2}$ mile south, $\\frac{3}{4}$ mile east, then another $\\frac{1}{2}$ mile "
        "south. To the nearest hundredth, how many miles is he from where he began, in a straight line?"
    ),
}


def all_paraphrases() -> list[tuple[str, str, str]]:
    """(benchmark file stem, item id, paraphrase) for every hand-written paraphrase."""
    return ([("gsm8k_test", k, v) for k, v in GSM8K.items()]
            + [("math500_test", k, v) for k, v in MATH500.items()])


# Held out: written after every decontamination threshold had been fixed, and never used to
# choose one. benchmarks/decontam.py reports recall on these separately from the set above.
HELD_OUT_GSM8K: dict[str, str] = {
    "gsm8k-test-0040": (
        "Suzy's phone is 1 year old. Ben's phone is two times as old as Suzy's, and Brandon's phone is four "
        "times as old as Ben's. What is the age of Brandon's phone?"
    ),
    "gsm8k-test-0042": (
        "For the firemen's lunch, Grandma Jones made 5 apple pies and sliced every pie into 8 pieces. The guests "
        "helped themselves, and by the end of the night 14 pieces were left over. How many pieces did the guests take?"
    ),
    "gsm8k-test-0044": (
        "Charlie makes tapered beeswax candles: a pound of beeswax yields 10 of them, and a pound of wax plus "
        "wicks costs him $10.00. He charges $2.00 per candle. If he produces and sells 20 candles, what net "
        "profit does he make?"
    ),
    "gsm8k-test-0047": (
        "John spends $200 on blue ties priced at $40 apiece. He also buys red ties, twice as many as the blue "
        "ones, and each red tie is 50% more expensive than a blue tie. What is his total spending on ties?"
    ),
    "gsm8k-test-0048": (
        "To hold up her tomato plants, Tracy took a 4 foot length of wire and cut it into 6 inch pieces. "
        "How many pieces did she end up with?"
    ),
    "gsm8k-test-0049": (
        "An apartment block has 15 floors with 8 units on each floor. Three quarters (3/4) of the units are "
        "occupied. How many units in the building are empty?"
    ),
    "gsm8k-test-0050": (
        "Lloyd's hens lay 252 eggs every day, and he sells the eggs at $2 for each dozen. What does Lloyd earn "
        "from eggs in one week?"
    ),
    "gsm8k-test-0052": (
        "Uriah has to take 15 pounds out of his heavy book bag. Each comic book weighs 1/4 pound and each toy "
        "weighs 1/2 pound. After taking out 30 comic books, how many toys must he still remove?"
    ),
    "gsm8k-test-0055": (
        "Jean starts with 30 lollipops and eats 2. She puts the rest into bags, 2 lollipops to a bag. How many "
        "bags does she fill?"
    ),
    "gsm8k-test-0056": (
        "Each trip to the cinema costs Peter $7 for the ticket and $7 for popcorn. With a weekly budget of 42 "
        "dollars, how many movie trips can he make this week?"
    ),
    "gsm8k-test-0057": (
        "A bridge made of wood holds at most 5000 pounds. The driver together with the empty delivery truck "
        "weighs 3755 pounds, and the truck carries identical 15 pound boxes. What is the largest number of "
        "boxes it can carry across without going over the limit?"
    ),
    "gsm8k-test-0059": (
        "On a raspberry bush there are 6 clusters holding 20 berries apiece, plus 67 single berries spread "
        "around the bush. How many raspberries does the bush have altogether?"
    ),
    "gsm8k-test-0060": (
        "Of the 25 oranges in a basket, 1 is bad, 20% are not yet ripe, 2 taste sour, and all the others are "
        "good. How many good oranges are there?"
    ),
    "gsm8k-test-0061": (
        "Janet has a brooch made for her daughter: the materials cost $500 and the jeweler charges $800 to "
        "make it. Insuring it then costs 10% of that amount. What does she pay in total?"
    ),
}

HELD_OUT_MATH500: dict[str, str] = {
    "test/algebra/1265.json": "Which power of 4 gives 8? Write the exponent as a common fraction.",
    "test/prealgebra/1388.json": "If one half of $3x-9$ equals $x+37$, find $x$.",
    "test/prealgebra/572.json": "Convert $\\frac{3}{20}$ into decimal form.",
    "test/algebra/769.json": "Adding up the first $N$ positive odd integers gives 121. Find $N$.",
    "test/algebra/722.json": "Without writing anything down, evaluate $99^2+99+1$.",
    "test/prealgebra/1247.json": (
        "Of 50 students in a class, 28 are in MATHCOUNTS, 21 are in the science club and 6 are in neither. "
        "How many are in both MATHCOUNTS and the science club?"
    ),
    "test/number_theory/46.json": "Subtract $18_9$ from $58_9$ and give the result in base $9$.",
    "test/algebra/1004.json": "Given that $2^8=4^x$, find $x$.",
    "test/prealgebra/192.json": "Find the value of $x$ for which $2^3\\cdot3^x=72$.",
    "test/prealgebra/307.json": (
        "An outfit is one shirt, one pair of pants and one hat. With 5 shirts, 6 pairs of pants and 8 hats, "
        "how many different outfits are possible?"
    ),
    "test/algebra/567.json": "What is the greatest $x$ satisfying $|5x-1|=x+3$?",
    "test/number_theory/357.json": "Compute the GCD of $3339$, $2961$ and $1491$.",
}


def held_out_paraphrases() -> list[tuple[str, str, str]]:
    """(benchmark file stem, item id, paraphrase) for the held-out set."""
    return ([("gsm8k_test", k, v) for k, v in HELD_OUT_GSM8K.items()]
            + [("math500_test", k, v) for k, v in HELD_OUT_MATH500.items()])


# Names and objects changed, numbers kept: the hardest paraphrases for a lexical check, because
# the rare words it retrieves by (names, objects) are exactly what changed. Written by hand for
# issue 17 (by the AI engineer who also changed the detector), reading each GSM8K item and
# retelling it with other people and things, the same quantities and the same answer. Not
# produced by a program, and not written from the detector's rules.
RENAMED_GSM8K: dict[str, str] = {
    "gsm8k-test-0100": (
        "Four guests came to see Priya one afternoon. The first guest knocked 20 times before Priya answered "
        "the door, and the second knocked 1/4 times more than the first. The third guest knocked 10 times more "
        "than the fourth, and the fourth knocked 60 times. How many knocks were there altogether?"
    ),
    "gsm8k-test-0101": (
        "Tomas must get through 4 pages of his biology book, 20 pages of his economics book, 7 pages of his art "
        "book and 8 pages of his music book. He managed 15 pages on Monday. With 4 more days left to finish, "
        "how many pages a day must he average?"
    ),
    "gsm8k-test-0103": (
        "A sandstorm sweeps in from the desert over a town. The storm needs 10 minutes for every 3 miles of the "
        "town, which measures 42 miles from the desert edge to the far side. How many minutes until the whole "
        "town is covered?"
    ),
    "gsm8k-test-0104": (
        "Leon is assembling a 1000-part model railway kit. He fits a quarter of the parts, and then his dad fits "
        "a third of the parts that remain. How many parts still need fitting?"
    ),
    "gsm8k-test-0106": (
        "Fatima owns 3 crates, each measuring 5 inches by 6 inches by 4 inches on the outside, with walls 1 "
        "inch thick. What is the combined space inside the 3 crates?"
    ),
    "gsm8k-test-0108": (
        "Greta is knitting scarves for a charity fair and plans to make twice as many as last year. By the end "
        "she has knitted 15 more than she intended. She then ruins 5 of them with spilled coffee and ends up "
        "with 110 scarves. How many scarves did Greta knit last year?"
    ),
    "gsm8k-test-0109": (
        "A charging point in town sells electricity at $3.00 per unit, and a rewards card pays back $.20 for "
        "each unit bought there. A driver buys 10 units. What does the charge come to after the reward?"
    ),
    "gsm8k-test-0110": (
        "Ines and Karl hold a contest to see who can eat more licorice laces. By mistake Ines's pile is two laces "
        "wide and 24 laces long, while Karl's is 3 laces wide and 14 laces long. If each of them eats the whole "
        "pile, what is the average number eaten?"
    ),
    "gsm8k-test-0111": (
        "While paddling on the river, Marco's canoe started leaking. It took in two liters of water for every "
        "ten feet he paddled toward the bank. Paddling twenty feet took him sixteen seconds, and the bank was "
        "64 seconds away. How much water was in the canoe when Marco got to the bank?"
    ),
    "gsm8k-test-0112": (
        "A lab has one microscope shared by the 4 researchers who use the lab in turns. Every researcher runs 2 "
        "sessions a day and uses the microscope in each one. If its lens is wiped 3 times per session, how many "
        "times is the lens wiped per day?"
    ),
    "gsm8k-test-0113": (
        "Each day Noor sows 2 tomato seeds in her allotment. After 15 days, how many seedlings does she have if "
        "5 of the seeds never sprouted?"
    ),
    "gsm8k-test-0114": (
        "Diego's tablet can store 6 times more songs than Hannah's tablet. The most songs Hannah's tablet can "
        "store is 50 times the number of singers in Diego's video of the choir at the festival. Diego's tablet "
        "can store 1800 songs. How many singers appear in Diego's video of the choir?"
    ),
    "gsm8k-test-0115": (
        "Oksana saw the price of tiles rise 50% in the months after she bought hers, so she decides to sell her "
        "leftovers: ten 2 x 4 x 10 slabs that cost her $10 each and five 4 x 4 x 10 slabs she paid $16 each for. "
        "What profit does she make if she sells every one?"
    ),
    "gsm8k-test-0116": (
        "Ravi makes tea with spoons of honey and mugs of milk in the ratio 7:13. Altogether he used 120 spoons "
        "of honey and mugs of milk. How many spoons of honey went in?"
    ),
    "gsm8k-test-0117": (
        "Aisha buys 2 jackets for each of her 3 kids, and every jacket costs $60. What does she pay in total?"
    ),
    "gsm8k-test-0118": (
        "At the harbour of Port Bellamy an inspector counted 2 crates of imported motorbikes with 5 motorbikes "
        "in each. More crates arrived the following day, and then the harbour held 30 motorbikes in total. If "
        "every crate holds 5 motorbikes, how many crates came in on the second day?"
    ),
    "gsm8k-test-0119": (
        "Bruno's pay was 30 percent more than Selma's. Four years on, he was earning 40% more than he had four "
        "years before. Both salaries rose over the same period, and Bruno's pay four years ago was $40000. "
        "What was their combined pay four years later?"
    ),
    "gsm8k-test-0120": (
        "Hiroshi fills 2 sketchbooks a week with drawings, and each sketchbook has 30 pages. How many pages does "
        "he use in a month?"
    ),
    "gsm8k-test-0121": (
        "Ngozi and Pavel were asked to bring snacks. Ngozi brought 5 muffins and 8 bananas; Pavel brought twice "
        "as many muffins and half as many bananas as Ngozi. How many snacks do they have altogether?"
    ),
    "gsm8k-test-0122": (
        "On Monday Rafael studied for 8 hours. On each of the next two days he studied 2 hours less because he "
        "had shifts at work, and on the rest of the week's days he studied 1 hour more than on those two days. "
        "How many hours did he study over the whole week?"
    ),
    "gsm8k-test-0123": (
        "Yusuf cycles at 10 miles per hour for 3 hours and after that at 5 miles per hour. How many miles does "
        "he cover in 7 hours?"
    ),
    "gsm8k-test-0124": (
        "Ottilie is helping out at her uncle's shop. There is a stack of 60 parcels that need labels and another "
        "stack of parcels already labelled. She labels one-third of the parcels needing labels, and now the "
        "labelled stack holds 30 parcels. How many were in the labelled stack when she started?"
    ),
    "gsm8k-test-0125": (
        "Kwame was getting ready for a barbecue where he meant to grill kebabs. Finding he had no skewers, he "
        "bought a new pack, and later his sister gave him a pack of 5 more. While cooking he used three skewers "
        "to test the meat, and when he laid out the food he had 12 skewers in total. How many skewers were in "
        "the pack Kwame bought?"
    ),
    "gsm8k-test-0126": (
        "Beatriz needed veggie burgers and bean burgers for a picnic. She bought 38 veggie burgers and 6 more "
        "bean burgers than veggie burgers. How many burgers did she buy altogether?"
    ),
    "gsm8k-test-0127": (
        "After joining a new club, Tariq collected 20 more stamps than Mei, who collected 50 stamps. How many "
        "stamps do Mei and Tariq have between them?"
    ),
    "gsm8k-test-0129": (
        "A clinic treats 500 patients a day, each for 24 minutes on average. The nurses bill the clinic $150 an "
        "hour and the clinic bills its patients $200 an hour. What profit does the clinic make on these visits?"
    ),
    "gsm8k-test-0130": (
        "Gunnar takes on 60 temporary staff to dress as pirates at his theme park. A third of the pirates resign "
        "after being soaked on the water ride, and then 10 of those remaining resign after being pecked by the "
        "parrot. How many pirates are left?"
    ),
    "gsm8k-test-0131": (
        "Svetlana spent $500 in May, and in June she spent $60 less. What did she spend over the two months?"
    ),
    "gsm8k-test-0132": (
        "Lena and Bogdan visited a fair. Lena went on the ferris wheel 2 times and Bogdan 4 times; afterwards "
        "each of them went on the bumper cars 2 times. Every ride cost 6 tokens. How many tokens did they spend "
        "that day?"
    ),
    "gsm8k-test-0133": (
        "Ayla swam 4 laps on Monday and 6 times as many laps on Tuesday. From Monday through Wednesday she swam "
        "41 laps in all. How many laps did she swim on Wednesday?"
    ),
    "gsm8k-test-0134": (
        "Idris has his dog groomed 4 times a month, and each visit costs $15. What does he pay in a year?"
    ),
    "gsm8k-test-0135": (
        "Chen's cousin Dario owns 5 fewer than 3 times as many board games as Chen. Chen had 20 board games but "
        "gave 5 away just before they compared. How many board games does Dario own?"
    ),
    "gsm8k-test-0136": (
        "Only 27 dragons remain on the planet. One third of them live in the Welsh mountains, and two thirds of "
        "the Welsh dragons are female. How many female Welsh dragons are there?"
    ),
    "gsm8k-test-0137": (
        "Zara orders 2 pizzas at $7.50 each, 2 portions of fries at $1.50 each and 2 brownies at $1.00 each for "
        "delivery. A 20% delivery charge is added at checkout and she adds a $5.00 tip. What does her order "
        "cost in total?"
    ),
    "gsm8k-test-0138": (
        "Yesterday Aleksander sat an exam of 75 problems, working at 5 problems an hour. Today he sat another "
        "exam of 100 problems at the same speed. He had 8 hours for the first exam and 6 hours for the second. "
        "How many problems did he leave unfinished?"
    ),
    "gsm8k-test-0139": (
        "A jar holds 22 more than four times as many green marbles as red marbles. There are 12 red marbles. "
        "How many green marbles are in the jar?"
    ),
    "gsm8k-test-0140": (
        "A bike shop has 20 bikes for hire: 12 are electric, 4 are tandems and the others are mountain bikes. "
        "What percentage of the bikes are mountain bikes?"
    ),
    "gsm8k-test-0141": (
        "An ant colony has 700 ants. There are twice as many soldier ants as larvae and twice as many larvae as "
        "queens. How many soldier ants are there?"
    ),
    "gsm8k-test-0142": (
        "Mateo spends 2 hours a day on his phone. A side job would pay him $10 an hour. How much would he earn "
        "in a week if he worked during his phone time instead?"
    ),
    "gsm8k-test-0145": (
        "Amara farms 10 acres of mangoes, with 100 mangoes on each acre, and she can pick her mangoes every 3 "
        "months. How many mangoes can she pick in a year?"
    ),
}

# Same-style look-alikes: new questions with new numbers on the scenes of the items above (a
# bell, a reading list, a storm, a kit...). They are different problems with different answers, so
# a decontamination check must keep them. Also written by hand.
LOOK_ALIKES: list[str] = [
    "Three visitors rang Omar's bell. The first rang 9 times, the second rang twice as often as the first, and "
    "the third rang 5 times fewer than the second. How many rings were there in all?",
    "Tomas has 12 pages of chemistry and 18 pages of geography to read, and he wants to finish in 6 days. How "
    "many pages should he read each day?",
    "A storm front moves across a valley at 4 miles every 15 minutes. The valley is 28 miles wide. How long, in "
    "minutes, does the front take to cross it?",
    "Leon's model kit has 640 parts. He fits half of them on Saturday and 96 more on Sunday. How many parts are "
    "left?",
    "A crate measures 8 inches by 9 inches by 7 inches. What is its volume in cubic inches?",
    "Greta knitted 36 scarves this year, which is 4 fewer than three times last year's number. How many did she "
    "knit last year?",
    "Electricity costs $0.35 per unit at a charging point. A driver buys 42 units and pays with a $20 note. How "
    "much change does she get?",
    "Ines ate 17 licorice laces and Karl ate 9 more than Ines. How many laces did they eat together?",
    "Marco's canoe takes in 3 liters of water every minute. He bails out 1 liter a minute. After 25 minutes, "
    "how much water is in the canoe?",
    "A lab books its microscope for 45-minute sessions. How many full sessions fit into a 9-hour day?",
    "Noor plants 7 rows of beans with 13 plants in each row. How many bean plants does she have?",
    "Diego's tablet holds 2400 songs and is 35% full. How many more songs can it take?",
    "Oksana bought 14 tiles at $9 each and sold them for $12 each. What was her profit?",
    "Ravi mixes 3 spoons of honey into every 8 mugs of milk. How many spoons does he need for 56 mugs?",
    "Aisha buys 4 scarves at $13 each and a coat for $85. What does she spend?",
    "A harbour receives 17 crates with 11 motorbikes in each. How many motorbikes arrive?",
    "Bruno earns $52000 a year and gets a 6% raise. What is his new salary?",
    "Hiroshi draws 3 pictures a day for 19 days. How many pictures does he draw?",
    "Ngozi brings 14 muffins and shares them equally among 7 friends and herself. How many muffins does each "
    "person get?",
    "Rafael studies 3 hours on weekdays and 5 hours on each weekend day. How many hours does he study in 2 "
    "weeks?",
    "Yusuf cycles 84 miles in 6 hours. What is his average speed in miles per hour?",
    "Ottilie labels 45 parcels an hour. How many hours does she need for 315 parcels?",
    "Kwame grills 9 kebabs on each of 11 skewer racks. How many kebabs does he grill?",
    "Beatriz buys 23 veggie burgers at $2 each and 17 bean burgers at $3 each. What does she pay?",
    "Tariq has 73 stamps and gives 28 to Mei. How many does he keep?",
    "A clinic sees 36 patients a day for 25 days. How many patients is that?",
    "Gunnar's theme park hires 84 pirates and 3 out of every 7 of them quit. How many stay?",
    "Svetlana saves $45 a week for 13 weeks. How much does she save?",
    "Each ride at a fair costs 7 tokens. Lena has 100 tokens. How many rides can she take, and how many tokens "
    "are left over?",
    "Ayla swims 35 laps on Monday and 18 fewer on Tuesday. How many laps does she swim on the two days?",
    "Idris pays $27 for each grooming visit and goes 9 times a year. What does he pay?",
    "Chen owns 16 board games and Dario owns 7 more than twice that. How many does Dario own?",
    "There are 96 dragons, and 3/8 of them breathe fire. How many dragons breathe fire?",
    "Zara buys 3 pizzas at $11.25 each and leaves a 15% tip on the total. What does she pay altogether?",
    "Aleksander answers 14 problems an hour for 9 hours. How many problems does he answer?",
    "A jar holds 58 green marbles and 19 red marbles. How many more green marbles than red are there?",
    "A bike shop rents 33 bikes on Saturday and 47 on Sunday at $18 per bike. What does it take in?",
    "An ant colony of 980 ants has one soldier for every 6 workers. How many soldiers are there?",
    "Mateo works 13 hours at $11 an hour. How much does he earn?",
    "Amara picks 275 mangoes and packs them in boxes of 25. How many boxes does she fill?",
]


def renamed_paraphrases() -> list[tuple[str, str, str]]:
    """(benchmark file stem, item id, paraphrase with names and objects changed)."""
    return [("gsm8k_test", k, v) for k, v in RENAMED_GSM8K.items()]


# Held out for the number-set retrieval: written after its constants (rlvr.curate.numpath) and
# the default paraphrase_structure were fixed, never used to choose them; same rules as above.
HELD_OUT_RENAMED_GSM8K: dict[str, str] = {
    "gsm8k-test-0150": (
        "Ruth and Omar race home after practice. Ruth lives further away, so she may ride her scooter: her "
        "home is 3 miles from the gym and she scoots at 440 feet per minute. Omar lives 2 miles from the gym "
        "and rollerblades at 264 feet per minute. How long does the winner wait at home before the loser "
        "arrives?"
    ),
    "gsm8k-test-0152": (
        "Ingrid buys ten bags of sweets with six sweets in every bag, and each sweet costs $0.10. She pays with "
        "a $10 note. How much change does she get?"
    ),
    "gsm8k-test-0154": (
        "On Mondays, Wednesdays and Fridays the apprentice Lucia has three 1-hour workshops a day, and on "
        "Tuesdays and Thursdays two 2-hour workshops a day. Her training term lasts 16 weeks. How many hours "
        "of workshops does she attend in the term?"
    ),
    "gsm8k-test-0155": (
        "Every day Mei-Ling cuts 300 ribbons, 120 cords and 60 ropes. Each ribbon is 4 inches long, each cord 6 "
        "inches long and each rope two feet long. Laid end to end, how many feet do they measure?"
    ),
    "gsm8k-test-0156": (
        "A stable manager buys all the carrots for the horses from a nearby grower every 2 months. The ponies "
        "need 200 carrots, the shire horses 400 carrots and the donkeys 100 carrots each month. How many carrots "
        "must he buy to cover 2 months?"
    ),
    "gsm8k-test-0158": (
        "Soren went shopping for art supplies. He bought 4 brushes at $1.5 each, 2 sketch pads at $4 each and an "
        "easel for $20. What did he spend altogether?"
    ),
    "gsm8k-test-0160": (
        "The water in a reservoir is 17 feet deep on Monday. By Tuesday it has risen by 7 feet, and on Wednesday "
        "the depth is two thirds of Tuesday's. How deep is the reservoir on Wednesday?"
    ),
    "gsm8k-test-0161": (
        "Maren and Teodor went rock-pooling. Maren found 10 crabs, 6 shrimps and 3 limpets. Teodor found 5 fewer "
        "crabs, 3 fewer shrimps and 2 more limpets than Maren. How many creatures did they find between them?"
    ),
    "gsm8k-test-0163": (
        "A shelf holds 5 toy trains, 3 puppets and a kite. The kite cost as much as 3 puppets, and one toy train "
        "cost $4. If a puppet costs $5, what are all the toys on the shelf worth?"
    ),
    "gsm8k-test-0164": (
        "Bashir is deciding whether to file his own paperwork or pay a bookkeeper. Doing it himself would cost him "
        "3 hours of tutoring, at $35/hour in lost earnings, while the bookkeeper charges $90. How much better off "
        "is he if he pays the bookkeeper?"
    ),
    "gsm8k-test-0165": (
        "For his 30th birthday Anselm's relatives club together €1500 for a new bicycle and gear, hoping some is "
        "left for a jacket. At the shop he picks a bike for €1090, a helmet for €157, lights worth €74 and a lock "
        "for €102. How much is left for the jacket?"
    ),
    "gsm8k-test-0171": (
        "Walking through the aquarium, Nadia counts 80 octopuses with 8 arms each, 90 starfish with 6 arms each, "
        "and 3 rare sea stars with 10 arms each. How many arms does she count in total?"
    ),
}


def held_out_renamed() -> list[tuple[str, str, str]]:
    return [("gsm8k_test", k, v) for k, v in HELD_OUT_RENAMED_GSM8K.items()]
