"""Meeting scheduling: place meetings in rooms and times so that as many attendees as possible
are in a scheduled meeting, without double-booking anyone or any room.

Instance (after NP-Engine's generator, made harder): meetings with 2..k attendees and a 30-90
minute duration, rooms with capacities, and for every person availability windows inside a
9:00-17:00 day, drawn as the day minus random busy blocks. NP-Engine gives every person the same
lunch-split day and has more rooms than meetings, which leaves little to decide; here busy
blocks differ per person, rooms are scarce, and there are a few more meetings (5-7 / 6-8 / 8-10
against NP-Engine's 4-5 / 5-6 / 6-7, also to keep the easy end from repeating). All boundaries
lie on a 30-minute grid, so some optimal schedule starts every meeting on the grid (shifting a
start down to the grid keeps it feasible); answers may still use any minute.

Reference: GRASP, NP-Engine's kind of solver: meetings are placed in a randomized
largest-first order at the earliest feasible time in the smallest room that fits, over a
fixed number of restarts (half of them also pick among the earliest few starts); it stops
early at the bound "every individually schedulable meeting scheduled". Exact (for tests):
branch and bound over (meeting -> start, room or skip).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from rlvr.synth.np.answer import Infeasible, int_tuples
from rlvr.synth.np.base import MAX, NPConfig, Problem, Reference, register_problem, sample
from rlvr.synth.np.fingerprint import incidence_fingerprint
from rlvr.synth.np.prompt import build_prompt

SLOT = 30  # minutes
DAY = (540, 1020)  # 9:00 to 17:00 in minutes after midnight
SLOTS = (DAY[1] - DAY[0]) // SLOT


@dataclass
class MeetingConfig(NPConfig):
    meetings: tuple[int, int] | None = field(default=None, metadata={"help": "meeting count range"})
    people: tuple[int, int] | None = field(default=None, metadata={"help": "attendee pool size range"})
    rooms: tuple[int, int] | None = field(default=None, metadata={"help": "room count range"})
    group: tuple[int, int] | None = field(default=None, metadata={"help": "attendees per meeting range"})
    capacity: tuple[int, int] | None = field(default=None, metadata={"help": "room capacity range"})
    busy: tuple[int, int] | None = field(default=None, metadata={"help": "busy blocks (30-120 min) per person"})
    restarts: int | None = field(default=None, metadata={"help": "GRASP restarts of the reference solver (default 24)"})

    PRESETS: ClassVar[dict[str, tuple[Any, Any, Any]]] = {
        "meetings": ((5, 7), (6, 8), (8, 10)),
        "people": ((4, 6), (5, 7), (6, 9)),
        "rooms": ((2, 3), (2, 3), (3, 4)),
        "group": ((2, 3), (2, 4), (2, 4)),
        "capacity": ((2, 5), (2, 5), (2, 6)),
        "busy": ((1, 2), (1, 3), (2, 4)),
    }
    LIMITS: ClassVar[dict[str, tuple[float, float]]] = {
        "meetings": (1, 60), "people": (2, 500), "rooms": (1, 60), "group": (1, 500),
        "capacity": (1, 1000), "busy": (0, 16),
    }
    BAD_EXAMPLES: ClassVar[tuple[dict[str, Any], ...]] = (
        *NPConfig.BAD_EXAMPLES, {"meetings": (0, 3)}, {"rooms": (4, 2)}, {"group": (0, 2)},
        {"people": (3, 3), "group": (4, 5)}, {"restarts": 0},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.people is not None and self.group is not None and self.group[1] > self.people[0]:
            raise ValueError(f"MeetingConfig: group {list(self.group)} can exceed people {list(self.people)}")
        if self.restarts is not None and self.restarts < 1:
            raise ValueError(f"MeetingConfig.restarts must be at least 1, got {self.restarts}")


def _windows(free: int) -> list[list[int]]:
    """Slot bitmask -> [[start, end], ...] in minutes."""
    out, s = [], 0
    while s < SLOTS:
        if free >> s & 1:
            e = s
            while e < SLOTS and free >> e & 1:
                e += 1
            out.append([DAY[0] + s * SLOT, DAY[0] + e * SLOT])
            s = e
        else:
            s += 1
    return out


def _slot_mask(windows: list[list[int]]) -> int:
    mask = 0
    for start, end in windows:
        for s in range((start - DAY[0]) // SLOT, (end - DAY[0]) // SLOT):
            mask |= 1 << s
    return mask


class _Model:
    """An instance in slot bitmasks: what both solvers search over."""

    def __init__(self, instance: dict[str, Any]):
        self.sizes = [len(m["attendees"]) for m in instance["meetings"]]
        self.people = [m["attendees"] for m in instance["meetings"]]
        self.caps = instance["rooms"]
        avail = [_slot_mask(w) for w in instance["availability"]]
        self.starts: list[list[tuple[int, int]]] = []  # per meeting: (start slot, block mask)
        for m in instance["meetings"]:
            length = m["duration"] // SLOT
            common = (1 << SLOTS) - 1
            for p in m["attendees"]:
                common &= avail[p]
            blocks = [(s, ((1 << length) - 1) << s) for s in range(SLOTS - length + 1)]
            self.starts.append([(s, b) for s, b in blocks if common & b == b])
        self.fits = [[r for r in sorted(range(len(self.caps)), key=lambda r: (self.caps[r], r)) if self.caps[r] >= size]
                     for size in self.sizes]
        self.schedulable = [i for i in range(len(self.sizes)) if self.starts[i] and self.fits[i]]

    def place(self, i: int, person_busy: list[int], room_busy: list[int],
              rng: random.Random | None = None) -> tuple[int, int, int] | None:
        """A start and room for meeting i, or None when impossible: the earliest start in the
        smallest room that fits, or with `rng` a random one of the first three such options."""
        options = []
        for s, block in self.starts[i]:
            if any(person_busy[p] & block for p in self.people[i]):
                continue
            for r in self.fits[i]:
                if not room_busy[r] & block:
                    options.append((s, r, block))
                    break
            if options and (rng is None or len(options) == 3):
                break
        if not options:
            return None
        return options[rng.randrange(len(options))] if rng is not None and len(options) > 1 else options[0]


def grasp(model: _Model, n_people: int, rng: random.Random, restarts: int, upper: int) -> list[list[int]]:
    best: list[list[int]] = []
    best_value = -1
    for r in range(restarts):
        # restart 0 is the plain largest-first greedy; later ones perturb the order, and odd
        # ones also the choice of start among the earliest few
        order = sorted(model.schedulable, key=lambda i: (-model.sizes[i] - (rng.random() * 2.5 if r else 0), i))
        person_busy, room_busy = [0] * n_people, [0] * len(model.caps)
        schedule, value = [], 0
        for i in order:
            spot = model.place(i, person_busy, room_busy, rng if r % 2 else None)
            if spot is None:
                continue
            s, room, block = spot
            for p in model.people[i]:
                person_busy[p] |= block
            room_busy[room] |= block
            schedule.append([i, room, DAY[0] + s * SLOT])
            value += model.sizes[i]
        if value > best_value:
            best, best_value = schedule, value
            if value >= upper:
                break
    return sorted(best, key=lambda x: (x[2], x[0]))


def exact_schedule(model: _Model, n_people: int) -> list[list[int]]:
    """Optimal schedule by branch and bound over meetings (largest first): each is skipped or
    placed at any grid start in any room that fits; pruned by the remaining attendee total."""
    order = sorted(model.schedulable, key=lambda i: -model.sizes[i])
    rest = [sum(model.sizes[i] for i in order[k:]) for k in range(len(order) + 1)]
    best: list[list[int]] = []
    best_value = -1
    person_busy, room_busy = [0] * n_people, [0] * len(model.caps)

    def rec(k: int, value: int, schedule: list[list[int]]) -> None:
        nonlocal best, best_value
        if value > best_value:
            best, best_value = list(schedule), value
        if k == len(order) or value + rest[k] <= best_value:
            return
        i = order[k]
        for s, block in model.starts[i]:
            if any(person_busy[p] & block for p in model.people[i]):
                continue
            for r in model.fits[i]:
                if room_busy[r] & block:
                    continue
                for p in model.people[i]:
                    person_busy[p] |= block
                room_busy[r] |= block
                schedule.append([i, r, DAY[0] + s * SLOT])
                rec(k + 1, value + model.sizes[i], schedule)
                schedule.pop()
                room_busy[r] &= ~block
                for p in model.people[i]:
                    person_busy[p] &= ~block
        rec(k + 1, value, schedule)

    rec(0, 0, [])
    return sorted(best, key=lambda x: (x[2], x[0]))


class MeetingScheduling(Problem):
    name = "np.meeting_scheduling"
    title = "meeting scheduling"
    sense = MAX
    solver = "GRASP: randomized largest-first order and early start, smallest fitting room, with restarts"
    exact_limit = ("meetings", 6)
    config_cls = MeetingConfig

    def build(self, rng: random.Random, knobs: dict[str, Any]) -> dict[str, Any]:
        n_people = sample(rng, knobs["people"])
        meetings = []
        for _ in range(sample(rng, knobs["meetings"])):
            size = min(n_people, sample(rng, knobs["group"]))
            meetings.append({"attendees": sorted(rng.sample(range(n_people), size)),
                             "duration": rng.choice((30, 60, 90))})
        availability = []
        for _ in range(n_people):
            free = (1 << SLOTS) - 1
            for _ in range(sample(rng, knobs["busy"])):
                length = rng.randint(1, 4)
                free &= ~(((1 << length) - 1) << rng.randint(0, SLOTS - length))
            availability.append(_windows(free))
        rooms = [sample(rng, knobs["capacity"]) for _ in range(sample(rng, knobs["rooms"]))]
        instance = {"meetings": meetings, "availability": availability, "rooms": rooms}
        if not _Model(instance).schedulable:  # keep the reference above zero: free meeting 0's people
            rooms[rng.randrange(len(rooms))] = max(rooms + [len(meetings[0]["attendees"])])
            for p in meetings[0]["attendees"]:
                availability[p] = _windows((1 << SLOTS) - 1)
        return instance

    def solve(self, instance: dict[str, Any], rng: random.Random, config: NPConfig) -> Reference:
        model = _Model(instance)
        upper = sum(model.sizes[i] for i in model.schedulable)
        best = grasp(model, len(instance["availability"]), rng, config.restarts or 24, upper)
        value = sum(model.sizes[i] for i, _, _ in best)
        return Reference(best, True if value >= upper else None)

    def exact(self, instance: dict[str, Any]) -> list[list[int]]:
        return exact_schedule(_Model(instance), len(instance["availability"]))

    def trivial_answers(self, instance: dict[str, Any]) -> list[Any]:
        return [[], [[0, 0, DAY[0]]]]  # nothing, meeting 0 in room 0 at the start of the day

    def parse(self, literal: list[Any]) -> list[list[int]]:
        return int_tuples(literal, 3, "(meeting id, room id, start time) groups")

    def evaluate(self, instance: dict[str, Any], solution: list[list[int]]) -> int:
        meetings, rooms, avail = instance["meetings"], instance["rooms"], instance["availability"]
        placed: list[tuple[int, int, int, int]] = []  # (meeting, room, start, end)
        for m, r, start in solution:
            if not 0 <= m < len(meetings):
                raise Infeasible(f"meeting {m} does not exist (valid: 0..{len(meetings) - 1})")
            if not 0 <= r < len(rooms):
                raise Infeasible(f"room {r} does not exist (valid: 0..{len(rooms) - 1})")
            if any(m == q[0] for q in placed):
                raise Infeasible(f"meeting {m} is scheduled twice")
            people, end = meetings[m]["attendees"], start + meetings[m]["duration"]
            if len(people) > rooms[r]:
                raise Infeasible(f"meeting {m} has {len(people)} attendees but room {r} holds {rooms[r]}")
            for p in people:
                if not any(a <= start and end <= b for a, b in avail[p]):
                    raise Infeasible(f"attendee {p} is not available for meeting {m} from {start} to {end}")
            for m2, r2, s2, e2 in placed:
                if start < e2 and s2 < end:
                    if r2 == r:
                        raise Infeasible(f"meetings {m2} and {m} overlap in room {r}")
                    shared = set(people) & set(meetings[m2]["attendees"])
                    if shared:
                        raise Infeasible(f"attendee {min(shared)} is in meetings {m2} and {m} at the same time")
            placed.append((m, r, start, end))
        return sum(len(meetings[m]["attendees"]) for m, _, _, _ in placed)

    def render(self, solution: list[list[int]]) -> str:
        return "[" + ", ".join(f"({m}, {r}, {s})" for m, r, s in solution) + "]"

    def describe(self, instance: dict[str, Any]) -> str:
        meetings = "\n".join(f"{i}: attendees {m['attendees']}, {m['duration']} minutes"
                             for i, m in enumerate(instance["meetings"]))
        people = "\n".join(f"{p}: " + ", ".join(f"{a}-{b}" for a, b in w) if w else f"{p}: never"
                           for p, w in enumerate(instance["availability"]))
        rooms = "\n".join(f"{r}: capacity {c}" for r, c in enumerate(instance["rooms"]))
        return build_prompt(
            title=self.title,
            description=(
                "Schedule meetings into rooms. Times are minutes after midnight (540 = 9:00, 1020 = 17:00). A "
                "scheduled meeting occupies its room from its start time for its duration; all its attendees "
                "must be available for that whole interval (inside one of their windows), the room must hold "
                "all attendees, no room may host two meetings at overlapping times, and nobody may be in two "
                "meetings at overlapping times (back-to-back is fine). Meetings may be left out. Maximise the "
                "total number of attendees over the scheduled meetings."
            ),
            answer_format=(
                "A list of (meeting id, room id, start time) groups, one per scheduled meeting, e.g. "
                "[(0, 1, 540), (2, 0, 600)]; leave unscheduled meetings out."
            ),
            example_input=("meetings:\n0: attendees [0, 1], 60 minutes\n1: attendees [1, 2], 30 minutes\n"
                           "availability:\n0: 540-720\n1: 540-1020\n2: 600-660\nrooms:\n0: capacity 2"),
            example_answer="[(0, 0, 540), (1, 0, 600)]",
            instance=f"meetings:\n{meetings}\navailability:\n{people}\nrooms:\n{rooms}",
            placeholder="[(meeting id, room id, start time), ...]",
        )

    def fingerprint(self, instance: dict[str, Any]) -> str:
        meetings = instance["meetings"]
        edges = [(i, p) for i, m in enumerate(meetings) for p in m["attendees"]]
        return incidence_fingerprint(
            self.name, [m["duration"] for m in meetings],
            [tuple(map(tuple, w)) for w in instance["availability"]], edges, rooms=sorted(instance["rooms"]),
        )

    def size(self, instance: dict[str, Any]) -> dict[str, int]:
        return {"meetings": len(instance["meetings"]), "people": len(instance["availability"]),
                "rooms": len(instance["rooms"])}


PROBLEM = register_problem(MeetingScheduling())
