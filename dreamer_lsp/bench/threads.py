"""How many threads a run's math should get, alone and beside another run: real train.py runs of
each method under each (runs at once, threads per run) setting, timed by train.py's own timer
over the log intervals after the prefill and the first updates' tracing."""
import concurrent.futures
import os

import numpy as np

from dreamer_lsp.sweep import launch
from dreamer_lsp.bench import agent
from dreamer_lsp.bench import breakdown
from dreamer_lsp.bench import timing

# (runs at once, threads per run): what `sweep --workers W --threads T` chooses between.
SETTINGS = ((1, 1), (1, 2), (2, 1), (2, 2))


def threads(presets, method, task, frames, settings=SETTINGS):
  """For each setting, `runs` train.py runs of `method` (seeds 0, 1, ...) started together, with
  sweep's thread variables set to `threads`: frames per second and CPU seconds per frame of
  each run in its steady state, and the frames per second of all of them together."""
  prefill = agent.build_config(presets, method, task, False).prefill
  log_every = max(1, (frames - prefill) // 8)
  flags = [
      '--log_every', str(log_every), '--eval_every', str(10 ** 9),
      '--checkpoint_every', str(10 ** 9)]
  results = []
  for runs, count in settings:
    env = {**os.environ, **dict.fromkeys(launch.THREAD_VARS, str(count))}
    with concurrent.futures.ThreadPoolExecutor(runs) as pool:
      trained = list(pool.map(
          lambda seed: breakdown.train(
              presets, method, task, frames, [*flags, '--seed', str(seed)], env),
          range(runs)))
    per_run = [steady(run['intervals'], prefill + log_every) for run in trained]
    results.append(dict(
        runs=runs, threads=count, per_run=per_run,
        frames_per_s=timing.stats([run['frames_per_s'] for run in per_run]),
        together_frames_per_s=sum(run['frames_per_s'] for run in per_run),
        cpu_s_per_frame=timing.stats([run['cpu_s_per_frame'] for run in per_run]),
        load_average=max(run['load_average']['max'] for run in trained)))
  return results


def steady(intervals, after):
  """Frames per second and CPU seconds per frame over the log intervals that start at or after
  step `after` (the prefill and the first update's tracing end before it)."""
  steps = np.array([0] + [record['step'] for record in intervals])
  kept = [(frames, record) for frames, start, record in zip(
      np.diff(steps), steps[:-1], intervals) if start >= after]
  if not kept:
    raise ValueError(f'no log interval starts at or after step {after}: run more frames')
  frames = sum(frames for frames, _ in kept)
  return dict(
      intervals=len(kept),
      frames_per_s=frames / sum(record['time/total'] for _, record in kept),
      cpu_s_per_frame=sum(record['cpu/total'] for _, record in kept) / frames)
