"""Dreamer's tools: modules, optimizers, scans, returns, episodes, replay, simulation, logging."""
import collections
import contextlib
import datetime
import functools
import io
import json
import os
import pathlib
import re
import shutil
import time
import uuid
import warnings

import numpy as np
import tensorflow as tf
import tf_keras

from dreamer_lsp import logdir as logdir_lib


class Module(tf.Module):
  """A tf.Module that creates its sub-layers on first use, like Dreamer's."""

  def get(self, name, ctor, *args, **kwargs):
    if not hasattr(self, '_modules'):
      self._modules = {}
    if name not in self._modules:
      self._modules[name] = ctor(*args, **kwargs)
    return self._modules[name]


class Optimizer(tf.Module):
  """Adam with global-norm clipping over one group of variables; under mixed precision, with
  dynamic loss scaling."""

  def __init__(self, name, lr, clip=None, wd=None, eps=1e-7, mixed=False):
    super().__init__(name=name)
    self._clip = clip
    self._wd = wd
    self._opt = tf_keras.optimizers.Adam(lr, epsilon=eps)
    if mixed:
      self._opt = tf_keras.mixed_precision.LossScaleOptimizer(self._opt)
    self._mixed = mixed

  @property
  def variables(self):
    return self._opt.variables()

  @property
  def loss_scale(self):
    return self._opt.loss_scale

  def __call__(self, tape, loss, modules):
    """Returns the gradient norm; the update is skipped when it is not finite (and under mixed
    precision the loss scale is lowered)."""
    variables = [v for m in modules
                 for v in ([m] if isinstance(m, tf.Variable) else m.trainable_variables)]
    if self._mixed:
      # The tape has closed over the unscaled loss: seeding the backward pass with d(scaled
      # loss)/d(loss) scales every gradient exactly as scaling the loss inside the tape would.
      seed = self._opt.get_scaled_loss(tf.ones_like(loss))
      grads = self._opt.get_unscaled_gradients(tape.gradient(loss, variables, seed))
    else:
      grads = tape.gradient(loss, variables)
    grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
    norm = tf.linalg.global_norm(grads)
    finite = tf.math.is_finite(norm)
    if self._clip:
      grads, _ = tf.clip_by_global_norm(grads, self._clip, norm)
    if self._mixed:
      # The loss-scale optimizer must see a non-finite update: it skips it and lowers the scale.
      grads = [tf.where(finite, g, g * np.nan) for g in grads]
      self._opt.apply_gradients(zip(grads, variables))
    else:
      grads = [tf.where(finite, g, tf.zeros_like(g)) for g in grads]
      tf.cond(finite, lambda: self._apply(grads, variables, norm), lambda: norm)
    if self._wd:
      for var in variables:
        var.assign((1 - self._wd * tf.cast(finite, var.dtype)) * var)
    return norm

  def _apply(self, grads, variables, norm):
    self._opt.apply_gradients(zip(grads, variables))
    return norm


def static_scan(fn, inputs, start, reverse=False):
  """Scan unrolled in the graph; returns every state stacked along axis 0."""
  last = start
  outputs = [[] for _ in tf.nest.flatten(start)]
  indices = range(tf.nest.flatten(inputs)[0].shape[0])
  if reverse:
    indices = reversed(indices)
  for index in indices:
    inp = tf.nest.map_structure(lambda x: x[index], inputs)
    last = fn(last, inp)
    [o.append(l) for o, l in zip(outputs, tf.nest.flatten(last))]
  if reverse:
    outputs = [list(reversed(x)) for x in outputs]
  outputs = [tf.stack(x, 0) for x in outputs]
  return tf.nest.pack_sequence_as(start, outputs)


def lambda_return(reward, value, pcont, bootstrap, lambda_, axis):
  """TD(lambda) returns (Dreamer eq. 6), computed backwards along `axis`."""
  assert reward.shape.ndims == value.shape.ndims, (reward.shape, value.shape)
  if isinstance(pcont, (int, float)):
    pcont = pcont * tf.ones_like(reward)
  dims = list(range(reward.shape.ndims))
  dims = [axis] + dims[1:axis] + [0] + dims[axis + 1:]
  if axis != 0:
    reward = tf.transpose(reward, dims)
    value = tf.transpose(value, dims)
    pcont = tf.transpose(pcont, dims)
  if bootstrap is None:
    bootstrap = tf.zeros_like(value[-1])
  next_values = tf.concat([value[1:], bootstrap[None]], 0)
  inputs = reward + pcont * next_values * (1 - lambda_)
  returns = static_scan(
      lambda agg, cur: cur[0] + cur[1] * lambda_ * agg,
      (inputs, pcont), bootstrap, reverse=True)
  if axis != 0:
    returns = tf.transpose(returns, dims)
  return returns


class Every:

  def __init__(self, every):
    self._every = every
    self._last = None

  def __call__(self, step):
    if not self._every:
      return False
    if self._last is None:
      self._last = step
      return True
    if step >= self._last + self._every:
      self._last += self._every * ((step - self._last) // self._every)
      return True
    return False


class Timer:
  """Wall seconds (time.perf_counter) and CPU seconds (time.process_time: all of the process's
  threads) per named section. A section's time excludes the sections entered inside it, so the
  sections add up to at most the total; the rest was spent outside any section."""

  def __init__(self):
    self._stack = []
    self._seconds = collections.defaultdict(float)
    self._mark = self._start = (time.perf_counter(), time.process_time())

  @contextlib.contextmanager
  def section(self, name):
    self._charge()
    self._stack.append(name)
    try:
      yield
    finally:
      self._charge()
      self._stack.pop()

  def result(self):
    """`time/NAME` and `cpu/NAME` of each section entered since the last call, and
    `time/total` and `cpu/total`, the seconds since the last call; then starts afresh."""
    self._charge()
    result = dict(self._seconds)
    result['time/total'] = self._mark[0] - self._start[0]
    result['cpu/total'] = self._mark[1] - self._start[1]
    self._seconds.clear()
    self._start = self._mark
    return result

  def _charge(self):
    """Adds the seconds since the last mark to the innermost open section."""
    now = (time.perf_counter(), time.process_time())
    if self._stack:
      self._seconds[f'time/{self._stack[-1]}'] += now[0] - self._mark[0]
      self._seconds[f'cpu/{self._stack[-1]}'] += now[1] - self._mark[1]
    self._mark = now


# Episodes ----------------------------------------------------------------------------------------

class EpisodeError(RuntimeError):
  pass


def episode_length(episode):
  """Agent steps of an episode: its first entry is the reset observation."""
  return len(episode['reward']) - 1


def save_episode(directory, episode):
  """Writes one episode as .npz atomically (temp file, then rename); returns the path."""
  directory = pathlib.Path(directory)
  timestamp = datetime.datetime.now().strftime('%Y%m%dT%H%M%S')
  filename = directory / f'{timestamp}-{uuid.uuid4().hex}-{episode_length(episode)}.npz'
  temp = filename.with_suffix('.tmp')
  try:
    directory.mkdir(parents=True, exist_ok=True)
    with io.BytesIO() as buffer:
      np.savez_compressed(buffer, **episode)
      buffer.seek(0)
      with temp.open('wb') as f:
        f.write(buffer.read())
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, filename)
  except OSError as e:
    temp.unlink(missing_ok=True)  # A partial file only takes space.
    raise WriteError(_write_failed('the episode', temp, e)) from e
  return filename


def load_episode(filename):
  try:
    with np.load(filename, allow_pickle=False) as data:
      episode = {k: data[k] for k in data.keys()}
  except Exception as e:
    raise EpisodeError(f'Corrupt episode file {filename}: {type(e).__name__}: {e}') from e
  lengths = {k: len(v) for k, v in episode.items()}
  if 'reward' not in episode or len(set(lengths.values())) != 1:
    raise EpisodeError(f'Corrupt episode file {filename}: inconsistent keys/lengths {lengths}.')
  return episode


def check_episodes(episodes, signature):
  """Raises EpisodeError naming the first episode whose arrays lack the shapes of `signature`
  (key: (shape, dtype) of one step), as a file of another task or config does."""
  for filename, episode in episodes.items():
    for key, (shape, _) in signature.items():
      found = episode[key].shape[1:] if key in episode else 'missing'
      if found != tuple(shape):
        raise EpisodeError(
            f'Episode file {filename} is not of this run: its {key!r} has shape {found}, this '
            f'run\'s {tuple(shape)}. Move it out of {pathlib.Path(filename).parent}.')


def load_episodes(directory, last=None):
  """Every readable episode of a directory (or the `last` ones), oldest first: files are named
  by time. Corrupt files are reported, not used."""
  episodes = collections.OrderedDict()
  for filename in sorted(pathlib.Path(directory).glob('*.npz'))[-last if last else None:]:
    try:
      episodes[str(filename)] = load_episode(filename)
    except EpisodeError as e:
      warnings.warn(f'{e} -- skipped (the file is left in place).')
  return episodes


class Replay:
  """Episodes in memory, sampled as fixed-length chunks that never cross an episode end."""

  def __init__(self, episodes=None, length=50, max_episodes=0, seed=0):
    self._episodes = collections.OrderedDict()
    self._length = length
    self._max_episodes = max_episodes
    self._random = np.random.RandomState(seed)
    self.nbytes = 0  # Of the arrays held: what the process's memory may grow by.
    for key, episode in (episodes or {}).items():
      self.add(key, episode)

  def __len__(self):
    return len(self._episodes)

  def add(self, key, episode):
    self._forget(key)
    self._episodes[key] = episode
    self.nbytes += sum(v.nbytes for v in episode.values())
    while self._max_episodes and len(self._episodes) > self._max_episodes:
      self._forget(next(iter(self._episodes)))

  def _forget(self, key):
    episode = self._episodes.pop(key, None)
    if episode is not None:
      self.nbytes -= sum(v.nbytes for v in episode.values())

  def sample(self):
    candidates = [e for e in self._episodes.values() if len(e['reward']) >= self._length]
    if not candidates:
      raise EpisodeError(f'No stored episode is at least {self._length} steps long.')
    episode = candidates[self._random.randint(len(candidates))]
    start = self._random.randint(len(episode['reward']) - self._length + 1)
    return {k: v[start:start + self._length] for k, v in episode.items()}

  def dataset(self, batch_size, signature):
    """A tf.data pipeline of [batch, length] chunks, prefetched to overlap with updates."""

    def generator():
      while True:
        chunk = self.sample()
        yield {k: chunk[k] for k in signature}

    spec = {
        k: tf.TensorSpec((self._length,) + tuple(shape), dtype)
        for k, (shape, dtype) in signature.items()}
    dataset = tf.data.Dataset.from_generator(generator, output_signature=spec)
    return dataset.batch(batch_size, drop_remainder=True).prefetch(4)


# Simulation --------------------------------------------------------------------------------------

class EnvError(RuntimeError):
  """An environment raised; the message names the task (the envs' errors do)."""


def _env_call(method, *args):
  try:
    return method(*args)
  except Exception as e:
    raise EnvError(str(e)) from e


def _env_calls(envs, name, args):
  """env.name(*arg) for each env and arg tuple. Envs in worker processes (envs.Process) get
  every call before any result is awaited, so their workers run at once."""
  pending = [
      _env_call(env.call_async, name, *arg) if hasattr(env, 'call_async')
      else functools.partial(getattr(env, name), *arg)
      for env, arg in zip(envs, args)]
  return [_env_call(result) for result in pending]


def simulate(policy, envs, steps=0, episodes=0, state=None, on_episode=()):
  """Steps `envs` with `policy(obs, reset, agent_state)` for a number of steps or episodes.

  Each finished episode (a dict of stacked arrays: the observations, `action`, `reward`,
  `discount`, and whatever extra per-step arrays the policy returns) goes to `on_episode`
  callbacks. Returns the state to resume the simulation from.
  """
  if state is None:
    step, episode = 0, 0
    done = np.ones(len(envs), bool)
    obs = [None] * len(envs)
    agent_state = None
    transitions = [[] for _ in envs]
  else:
    step, episode, done, obs, agent_state, transitions = state
  while (steps and step < steps) or (episodes and episode < episodes):
    resets = np.flatnonzero(done)
    firsts = _env_calls([envs[i] for i in resets], 'reset', [()] * len(resets))
    for index, first in zip(resets, firsts):
      obs[index] = first
      transitions[index] = [_first_transition(obs[index], envs[index])]
    batch = {k: np.stack([o[k] for o in obs]) for k in obs[0]}
    action, extras, agent_state = policy(batch, done, agent_state)
    action = np.asarray(action)
    done = np.zeros(len(envs), bool)
    results = _env_calls(envs, 'step', [(a,) for a in action])
    for index, env in enumerate(envs):
      obs[index], reward, done[index], info = results[index]
      transition = dict(obs[index])
      transition['action'] = action[index]
      transition['reward'] = np.float32(reward)
      transition['discount'] = np.float32(info.get('discount', 1.0 - float(done[index])))
      transition.update({k: np.asarray(v[index]) for k, v in extras.items()})
      transitions[index].append(transition)
      if done[index]:
        last = transitions[index][-1]  # The reset entry lacks the policy's extras: zeros.
        finished = {
            k: np.stack([t.get(k, np.zeros_like(last[k])) for t in transitions[index]])
            for k in last}
        for callback in on_episode:
          callback(finished)
    step += len(envs)
    episode += int(done.sum())
  return (step - steps, episode - episodes, done, obs, agent_state, transitions)


def _first_transition(obs, env):
  transition = dict(obs)
  transition['action'] = np.zeros(env.act_space.shape, np.float32)
  transition['reward'] = np.float32(0.0)
  transition['discount'] = np.float32(1.0)
  return transition


# Logging -----------------------------------------------------------------------------------------

class Logger:
  """Scalars to metrics.jsonl (one JSON object per line with `step`) and to TensorBoard; and the
  means of the updates' metrics, with the update rate and the process's memory and hours."""

  def __init__(self, logdir, step):
    self._logdir = pathlib.Path(logdir)
    self._logdir.mkdir(parents=True, exist_ok=True)
    self._path = self._logdir / 'metrics.jsonl'
    self._last_steps = {}
    self._truncate_after(step)
    self._writer = tf.summary.create_file_writer(str(self._logdir), max_queue=1000)
    self._scalars = {}
    self._updates = collections.defaultdict(list)
    self._count = 0
    self._started = time.time()
    self._last = (self._started, 0)
    self.step = step

  def _truncate_after(self, step):
    """On resume, drops lines logged after the restored step and a half-written last line."""
    if not self._path.exists():
      return
    kept = []
    for line in self._path.read_text().splitlines():
      try:
        record = json.loads(line)
      except json.JSONDecodeError:
        continue
      if isinstance(record, dict) and record.get('step', 0) <= step:
        kept.append(line)
        self._last_steps.update(dict.fromkeys(record, record.get('step', 0)))
    temp = self._path.with_suffix('.tmp')
    temp.write_text(''.join(line + '\n' for line in kept))
    os.replace(temp, self._path)

  def last_step(self, name):
    """The step at which `name` was last written, by this process or before a resume; None if
    never."""
    return self._last_steps.get(name)

  def scalar(self, name, value):
    self._scalars[name] = float(value)

  def update(self, metrics):
    """Collects the metrics of one update, for `write_updates`."""
    self._count += 1
    for key, value in metrics.items():
      self._updates[key].append(value)

  def write_updates(self):
    """Writes the means of the collected metrics, the updates per second since the last call,
    the resident memory and the process's hours; returns the means and the rate."""
    means = {key: float(np.mean(values)) for key, values in self._updates.items()}
    for key, value in means.items():
      self.scalar(key, value)
    now = time.time()
    rate = (self._count - self._last[1]) / max(now - self._last[0], 1e-6)
    self._last = (now, self._count)
    self.scalar('updates_per_second', rate)
    self.scalar('rss_mb', _resident_mb())
    self.scalar('process_hours', (now - self._started) / 3600)
    self._updates.clear()
    self.write()
    return means, rate

  def write(self):
    if not self._scalars:
      return
    with writing('the metrics', self._logdir):
      with self._writer.as_default():
        for name, value in self._scalars.items():
          tf.summary.scalar(name, value, self.step)
      with self._path.open('a') as f:
        f.write(json.dumps({'step': self.step, **self._scalars}) + '\n')
        f.flush()
      self._last_steps.update(dict.fromkeys(self._scalars, self.step))
      self._writer.flush()
    self._scalars = {}

  def video(self, name, frames, fps=30):
    """Writes uint8 frames [T, H, W, 3] as an mp4 next to the metrics, under a temp name until
    it is complete."""
    import imageio
    directory = self._logdir / 'videos'
    path = directory / f'{name}_{self.step:08d}.mp4'
    temp = directory / f'{name}_{self.step:08d}.tmp.mp4'  # imageio reads the format off '.mp4'.
    with writing('the video', path):
      try:
        directory.mkdir(exist_ok=True)
        imageio.mimsave(temp, list(frames), fps=fps, macro_block_size=1)
        os.replace(temp, path)
      finally:
        temp.unlink(missing_ok=True)
    return path


def _resident_mb():
  """The process's current resident memory, to watch for growth beyond the replay's."""
  try:
    with open('/proc/self/statm') as f:
      return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2 ** 20
  except OSError:  # No /proc (macOS): the peak instead.
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 10


# Checkpoints -------------------------------------------------------------------------------------

class CheckpointError(RuntimeError):
  pass


def save_checkpoint(checkpoint, directory):
  """Writes a tf.train.Checkpoint atomically: into a temp folder, then swapped in by rename, so
  that the previous checkpoint stays whole until the new one is. A failed write (a full disk)
  raises WriteError and removes its partial files; a killed one leaves them to the next save."""
  directory = pathlib.Path(directory)
  temp = directory.with_name(directory.name + '.tmp')
  old = directory.with_name(directory.name + '.old')
  shutil.rmtree(temp, ignore_errors=True)
  try:
    checkpoint.write(str(temp / 'variables'))
    _fsync_tree(temp)
  except (OSError, tf.errors.OpError) as e:
    shutil.rmtree(temp, ignore_errors=True)
    raise WriteError(_write_failed('the checkpoint', temp, e)) from e
  if directory.exists():
    shutil.rmtree(old, ignore_errors=True)
    os.replace(directory, old)
  os.replace(temp, directory)
  shutil.rmtree(old, ignore_errors=True)


def has_checkpoint(directory):
  return logdir_lib.complete_checkpoint(directory) is not None


def load_checkpoint(checkpoint, directory, partial=False):
  """Restores every variable of `checkpoint` from the files; with `partial`, the files may hold
  more. Missing, corrupt or mismatched files raise CheckpointError naming the problem."""
  path = logdir_lib.complete_checkpoint(directory)
  if path is None:
    raise CheckpointError(f'No checkpoint at {directory}.')
  try:
    status = checkpoint.read(str(path / 'variables'))
    if partial:
      status.expect_partial()  # The file may hold more (optimizers) than is asked for.
    status.assert_existing_objects_matched()
  except Exception as e:  # TF raises many error types for a bad file.
    raise CheckpointError(
        f'Cannot restore the checkpoint at {path}: {type(e).__name__}: '
        f'{str(e).splitlines()[0] if str(e) else ""}') from e
  return path


def _fsync_tree(directory):
  for path in pathlib.Path(directory).iterdir():
    with path.open('rb') as f:
      os.fsync(f.fileno())


# Write failures ----------------------------------------------------------------------------------

class WriteError(RuntimeError):
  """A file could not be written (a full disk, a quota, permissions)."""


@contextlib.contextmanager
def writing(what, path):
  """Turns a failed write inside the block into WriteError: what, where, why, space left."""
  try:
    yield
  except (OSError, tf.errors.OpError) as e:
    raise WriteError(_write_failed(what, path, e)) from e


def _write_failed(what, path, error):
  """One line: what could not be written, where, why, and the space left there."""
  reason = getattr(error, 'strerror', None) or getattr(error, 'message', None) or str(error)
  reason = (reason.strip().splitlines() or [type(error).__name__])[0]
  reason = re.sub(r'\{\{.*?\}\}\s*|\s*\[Op:\w+\]', '', reason)  # TF's op names.
  return f'Cannot write {what} to {path}: {reason}; {_free_space(path)} free there.'


def _free_space(path):
  path = pathlib.Path(path).absolute()
  while not path.exists():  # The folder that failed may be gone; its disk is a parent's.
    path = path.parent
  free = shutil.disk_usage(path).free
  return f'{free / 2 ** 30:.1f} GB' if free >= 2 ** 30 else f'{free / 2 ** 20:.1f} MB'
