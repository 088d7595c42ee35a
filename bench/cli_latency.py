"""Cold wall time of the commands a user types most: each one a fresh `vsearch` process.

A small library is built first (generated videos indexed with the tiny OpenAI-format CLIP of
the test data, so no download is needed). Then, each in a new interpreter, as a shell would
start it: `status`, a no-op `index` of the same folder, a `search --batch` whose queries file
has a bad line (it must fail before any model loads) and a real zero-shot search. Reported:
median and max seconds over the repeats, the exit code, and whether the process imported torch.
Writes one JSON document to stdout.

    python -m bench cli_latency [--quick] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY_CLIP = ROOT / "tests" / "data" / "clip" / "tiny_openai_clip.pt"
PROBE = """
import sys
from vsearch.cli import main
try:
    main(sys.argv[1:], standalone_mode=True)
finally:
    sys.stderr.write("\\ntorch-imported=%s\\n" % ("torch" in sys.modules))
"""


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSEARCH_")}
    env.update(VSEARCH_CONFIG=str(root / "no-config.toml"), HF_HUB_OFFLINE="1",
               OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))  # fmt: skip
    return env


def _vsearch(args: list[str], env: dict[str, str]) -> tuple[float, int, bool]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env=env)  # fmt: skip
    seconds = time.perf_counter() - started
    return seconds, done.returncode, "torch-imported=True" in done.stderr


def _build(root: Path, videos: int, seconds: int) -> None:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from vsearch.media import write_video

    rng = np.random.default_rng(0)
    for n in range(videos):
        colour = rng.integers(0, 255, size=3, dtype=np.uint8)
        frames = []
        for i in range(seconds * 10):
            frame = np.zeros((64, 96, 3), np.uint8)
            frame[20:36, (i * 3) % 80 : (i * 3) % 80 + 16] = colour
            frames.append(frame)
        write_video(root / "videos" / f"v{n}.mp4", frames, fps=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 5)
    videos, seconds = (2, 6) if args.quick else (10, 30)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "videos").mkdir()
        _build(root, videos, seconds)
        env = _environment(root)
        library = ["--library", str(root / "library")]
        indexed = _vsearch(["index", str(root / "videos"), *library, "--clip-weights",
                            str(TINY_CLIP)], env)  # fmt: skip
        if indexed[1] != 0:
            raise SystemExit(f"indexing the benchmark library failed ({indexed[1]})")
        bad = root / "queries.jsonl"
        bad.write_text('{"qid": 1, "query": "a square"}\nnot json\n')
        commands = {
            "status": ["status", *library],
            "index_no_op": ["index", str(root / "videos"), *library],
            "search_batch_bad_line": ["search", "--batch", str(bad), "--out",
                                      str(root / "preds.jsonl"), *library],
            "search": ["search", "a coloured square", "--grounding", "zero-shot", *library],
        }  # fmt: skip
        timings = {}
        for name, command in commands.items():
            runs = [_vsearch(command, env) for _ in range(repeats)]
            timings[name] = {
                "median_s": round(statistics.median(r[0] for r in runs), 3),
                "max_s": round(max(r[0] for r in runs), 3),
                "exit_code": runs[-1][1],
                "imports_torch": runs[-1][2],
            }
    print(json.dumps({
        "videos": videos, "seconds_per_video": seconds, "repeats": repeats,
        "index_build_s": round(indexed[0], 2), "commands": timings,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
