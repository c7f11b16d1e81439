"""Env frames per second of train.py's whole loop, between its log lines."""
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

from dreamer_lsp.bench import agent
from dreamer_lsp.bench import timing
from dreamer_lsp.bench.machine import REPO

INTERVALS = 2        # Timed log intervals of the whole loop, after the first log line.
UPDATES = 10         # Updates per interval.


def loop(presets, method, task, jit, updates, intervals):
  """Env frames per second of train.py with one update per 5 frames, timed between its log
  lines (printed every `updates` updates) after the first, which comes after the prefill of
  one episode, the first update (tracing, XLA) and an evaluation episode."""
  c = agent.build_config(presets, method, task, jit)
  log_every = updates * 5
  prefill = c.time_limit
  with tempfile.TemporaryDirectory() as logdir:
    command = [
        sys.executable, 'train.py', '--configs', *presets, method, '--task', task,
        '--logdir', logdir, '--jit', str(jit), '--train_every', '5',
        '--pretrain', '1', '--prefill', str(prefill), '--log_every', str(log_every),
        '--steps', str(prefill + intervals * log_every + log_every // 2),
        '--eval_every', str(10 ** 9), '--checkpoint_every', str(10 ** 9)]
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, marks = [], []
    for line in process.stdout:
      lines.append(line)
      match = re.match(r'step (\d+)/', line)
      if match:
        marks.append((time.perf_counter(), timing.cpu_seconds(process.pid), int(match.group(1))))
    _, status, usage = os.wait4(process.pid, 0)
  if status or len(marks) < 2:
    raise RuntimeError(f'{shlex.join(command)} failed:\n{"".join(lines[-30:])}')
  wall, cpu, frames = np.diff(np.array(marks), axis=0).T
  return dict(
      frames_per_s=timing.stats(frames / wall), cpu_s_per_frame=timing.stats(cpu / frames),
      wall_s=time.perf_counter() - start, startup_s=marks[0][0] - start,
      peak_rss_gib=usage.ru_maxrss / 2 ** 20, load_average=os.getloadavg()[0],
      command=shlex.join(command[1:]).replace(logdir, 'LOGDIR'))
