"""YAML state vs JSON state: whole-process plan time and peak RSS (not a test: run by hand).

The same cluster (the `realistic` shape of plan_scale.py: 3-6 labels per node, mixed
selectors, colons in model names; steady and 10% churn) written as JSON (indented, as
apply writes it) and as YAML in two layouts: the one apply writes and the bundled
example uses (block nodes with flow labels, one flow `{model, node}` per replica), and
`yaml.safe_dump`'s block layout. Each `modelsched plan` runs in fresh processes,
interleaved over `--rounds` rounds; the best time and the lowest peak RSS are kept.

Goal (issue: YAML state at JSON speed): a YAML plan within 2x the JSON plan's time
and peak RSS. With `--libraries`, also the parse time of the YAML text by the general
YAML readers importable here: PyYAML's C BaseLoader, and if installed ruamel.yaml
(C), rapidyaml (`ryml`: its C++ tree only, no Python objects), yaml-rs and ryaml.
Note yaml-rs and ryaml resolve scalars by YAML 1.2 (`rack: 01` -> 1, `v: 1.10` -> 1.1),
so they cannot read labels as the text written; they are timed for comparison only.
To time them without installing them into the project's environment:
`pip install --target /tmp/yamllibs rapidyaml yaml-rs ryaml` and add it to PYTHONPATH.

    PYTHONPATH=. python benchmarks/yaml_state.py [--nodes 5000] [--models 500] [--rounds 5] [--libraries]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

from plan_scale import interleaved, plan_command, write_states

LIBRARY_RUN = """
import sys, time
text = open(sys.argv[2], encoding="utf-8").read()
name = sys.argv[1]
if name == "PyYAML CBaseLoader":
    import yaml
    run = lambda: yaml.load(text, Loader=yaml.CBaseLoader)
elif name == "modelsched reader":
    from modelsched.drivers.local import reader
    run = lambda: reader.read(text.encode(), sys.argv[2], "yaml")
elif name == "ruamel.yaml (C)":
    from ruamel.yaml import YAML
    run = lambda: YAML(typ="base").load(text)
elif name == "ryml (tree only)":
    import ryml
    data = text.encode()
    run = lambda: ryml.parse_in_arena(data)
elif name == "yaml-rs":
    import yaml_rs
    run = lambda: yaml_rs.loads(text)
elif name == "ryaml":
    import ryaml
    run = lambda: ryaml.loads(text)
start = time.perf_counter()
run()
print(time.perf_counter() - start)
"""


def libraries(paths: dict[str, Path], rounds: int) -> None:
    names = ["modelsched reader", "PyYAML CBaseLoader"]
    others = [("ruamel.yaml (C)", "ruamel.yaml"), ("ryml (tree only)", "ryml"), ("yaml-rs", "yaml_rs")]
    others.append(("ryaml", "ryaml"))
    names += [name for name, module in others if importlib.util.find_spec(module)]
    print(f"\nparse time of the YAML text in a fresh process (best of {rounds}), seconds")
    for label, path in paths.items():
        cells = []
        for name in names:
            best = min(
                float(subprocess.run([sys.executable, "-c", LIBRARY_RUN, name, str(path)], check=True,
                                     capture_output=True, text=True).stdout)
                for _ in range(rounds)
            )  # fmt: skip
            cells.append(f"{name} {best:.3f}")
        print(f"  {label}: " + ", ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--libraries", action="store_true", help="also time the general YAML parsers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files: dict[str, dict[str, list[dict[str, object]]]] = {}
        for fmt in ("json2", "yaml", "yaml-dump"):
            files[fmt] = {"": write_states(Path(tmp), "realistic", args.nodes, args.models, fmt)}
        commands = {}
        sizes = {}
        for fmt, written in files.items():
            for f in written[""]:
                key = f"{f['label']}|{fmt}"
                commands[key] = plan_command(Path(str(f["config"])), Path(str(f["path"])))
                sizes[key] = int(str(f["bytes"]))
        best = interleaved(commands, args.rounds)
        print(f"whole-process `modelsched plan`, realistic shape, {args.nodes} nodes, {args.models} models, "
              f"best of {args.rounds} interleaved rounds")  # fmt: skip
        print(f"{'state':>10} {'format':>22} {'MB':>6} {'s':>7} {'peak MB':>8} "
              f"{'time vs JSON':>12} {'RSS vs JSON':>11}")  # fmt: skip
        names = {"json2": "JSON", "yaml": "YAML (apply's layout)", "yaml-dump": "YAML (safe_dump)"}
        verdicts = []
        for key, (t, rss) in best.items():
            label, fmt = key.split("|")
            jt, jrss = best[f"{label}|json2"]
            print(f"{label:>10} {names[fmt]:>22} {sizes[key] / 2**20:>6.1f} {t:>7.3f} {rss:>8.1f} "
                  f"{t / jt:>12.2f} {rss / jrss:>11.2f}")  # fmt: skip
            if fmt != "json2":
                met = t / jt <= 2 and rss / jrss <= 2
                verdicts.append(f"{names[fmt]}, {label}: time {t / jt:.2f}x, peak RSS {rss / jrss:.2f}x of JSON "
                                f"(goal <= 2x both): {'met' if met else 'NOT met'}")  # fmt: skip
        print("\n" + "\n".join(verdicts))
        if args.libraries:
            yaml_paths = {str(f["label"]): Path(str(f["path"])) for f in files["yaml"][""]}
            yaml_paths |= {f"{f['label']} (safe_dump)": Path(str(f["path"])) for f in files["yaml-dump"][""]}
            libraries(yaml_paths, args.rounds)


if __name__ == "__main__":
    main()
