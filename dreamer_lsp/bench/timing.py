"""Statistics of repeated timings, timed calls, and the machine's float32 matmul peak."""
import os
import pathlib
import time

import numpy as np


def stats(values):
  return dict(median=float(np.median(values)), min=float(np.min(values)),
              max=float(np.max(values)), n=len(values))


def timeit(fn, repeats, warmup=1):
  """Wall and CPU seconds (the process's, all threads) of each of `repeats` calls of fn, after
  `warmup` calls. CPU time is what another process on the machine does not inflate."""
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(repeats):
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    times.append((time.perf_counter() - wall, time.process_time() - cpu))
  return np.array(times).T


def matmul_peak(size, repeats, jit):
  """Float32 GFLOP per second and per CPU second of a loop of size x size matmuls."""
  import tensorflow as tf
  count = 10
  a = tf.random.normal((size, size))

  @tf.function(jit_compile=jit)
  def loop(x):
    for _ in range(count):
      x = tf.matmul(x, a) / size
    return tf.reduce_sum(x)

  wall, cpu = timeit(lambda: loop(a).numpy(), repeats)
  gflop = 2 * size ** 3 * count / 1e9
  return dict(gflops=stats(gflop / wall), gflop_per_cpu_s=stats(gflop / cpu))


def cpu_seconds(pid):
  """User and system CPU seconds of a running process, all its threads, from /proc."""
  fields = pathlib.Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
  return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
