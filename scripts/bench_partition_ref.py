#!/usr/bin/env python3
"""Reference partitioners for `mulin bench partition`.

Reads the block graph the bench writes (JSON: per case the block households, the
adjacency lists and the grid count) and writes, per case, what METIS (pymetis, contiguous
parts) and GerryChain (recursive spanning-tree bisection, `recursive_tree_part`) make of
it: a part number per block and the seconds taken. The bench measures the parts with the
same quality function it uses for its own division.

A case may be a list of independent instances (the communities of a city, each divided on
its own as a community office would): each method then runs on every instance and reports
the parts per instance and the seconds summed. A case may name the methods it wants
("refs"); GerryChain on a whole city of 20,000 buildings finds no balanced cut, so the bench
asks it only per community.

Usage: bench_partition_ref.py IN.json OUT.json
MULIN_PARTITION_REFS=metis runs METIS only;
MULIN_GERRYCHAIN_BUDGET=SECONDS stops each GerryChain call after that long and reports that it
did not finish; MULIN_GERRYCHAIN_NODE_REPEATS (default 0, GerryChain's own) is its
`node_repeats`.
Needs: pip install pymetis gerrychain (see docs/BENCHMARKS.md).
"""

import json
import os
import signal
import sys
import time
import warnings


class OverBudget(BaseException):
    """GerryChain ran past MULIN_GERRYCHAIN_BUDGET (a BaseException, so no `except Exception`
    inside GerryChain swallows it)."""


def metis(case):
    import pymetis

    xadj, adjncy = [0], []
    for nbrs in case["adj"]:
        adjncy.extend(nbrs)
        xadj.append(len(adjncy))
    started = time.perf_counter()
    _, parts = pymetis.part_graph(
        case["k"],
        xadj=xadj,
        adjncy=adjncy,
        vweights=case["weight"],
        contiguous=True,
    )
    return {"seconds": time.perf_counter() - started, "parts": list(parts)}


def gerrychain(case):
    import networkx
    from gerrychain import Graph
    from gerrychain.partition.initial_partition_generators import recursive_tree_part

    g = networkx.Graph()
    for i, w in enumerate(case["weight"]):
        g.add_node(i, households=w)
    for i, nbrs in enumerate(case["adj"]):
        for j in nbrs:
            if i < j:
                g.add_edge(i, j)
    graph = Graph.from_networkx(g)
    k = case["k"]
    target = sum(case["weight"]) / k
    # The range as a tolerance around the mean grid: 300–500 around 400 is ±25%.
    epsilon = min(target - case["min"], case["max"] - target) / target
    budget = float(os.environ.get("MULIN_GERRYCHAIN_BUDGET", "0"))
    if budget > 0:
        def over_budget(_signum, _frame):
            raise OverBudget()

        signal.signal(signal.SIGALRM, over_budget)
        signal.setitimer(signal.ITIMER_REAL, budget)
    started = time.perf_counter()
    try:
        assignment = recursive_tree_part(
            graph,
            range(k),
            target,
            "households",
            epsilon,
            node_repeats=int(os.environ.get("MULIN_GERRYCHAIN_NODE_REPEATS", "0")),
            rng=2026,
        )
    except OverBudget:
        return {
            "seconds": time.perf_counter() - started,
            "error": f"no plan within the {budget:g} s budget",
        }
    except Exception as failure:  # GerryChain gives up when no balanced cut exists
        return {"seconds": time.perf_counter() - started, "error": str(failure)}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "parts": [assignment[i] for i in range(len(case["weight"]))]}


METHODS = {"metis": metis, "gerrychain": gerrychain}


def run_all(method, instances):
    """One method on every instance of a case: parts per instance (None where it failed),
    seconds summed, and the failures."""
    results = [method(case) for case in instances]
    failed = [f"#{i}: {r['error']}" for i, r in enumerate(results) if "error" in r]
    out = {
        "seconds": sum(r["seconds"] for r in results),
        "seconds_each": [r["seconds"] for r in results],
        "parts": [r.get("parts") for r in results],
    }
    if failed:
        out["error"] = f"{len(failed)} of {len(results)} failed ({failed[0]})"
    return out


def main():
    warnings.simplefilter("ignore")
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    wanted = os.environ.get("MULIN_PARTITION_REFS", "metis,gerrychain").split(",")
    out = {}
    for name, case in cases.items():
        out[name] = {}
        instances = case if isinstance(case, list) else None
        asked = (instances[0] if instances else case).get("refs", list(METHODS))
        for method in METHODS:
            if method not in wanted or method not in asked:
                continue
            if instances is None:
                out[name][method] = METHODS[method](case)
            else:
                out[name][method] = run_all(METHODS[method], instances)
        print(f"{name}: done", file=sys.stderr)
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
