"""Trains Dreamer or LSP. Re-running the same command with the same --logdir resumes the run
(or, once it is done, says so and touches nothing).

  python train.py --configs dmc_proprio lsp --task dmc_walker_run --logdir logdir/walker_lsp

Config errors, a logdir that another run writes and missing transfer sources exit with code 2
before TensorFlow is imported and before anything is written; see configs.yaml for every key.
"""
import collections
import contextlib
import os
import pathlib
import random
import signal
import sys
import time

# Before numpy loads: its BLAS threads, waiting beside TensorFlow's and other runs' on a shared
# machine, made the skill decoder's small matrices take seconds instead of milliseconds.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')

import numpy as np

from dreamer_lsp import config as config_lib
from dreamer_lsp import envs  # No TensorFlow: config errors stop before it loads.
from dreamer_lsp import logdir as logdir_lib
from dreamer_lsp import skill_decoding


class Interrupted(BaseException):
  """SIGINT or SIGTERM; a BaseException so that no `except Exception` swallows it. `saved`: a
  checkpoint was saved on the way out."""

  def __init__(self, signum, saved=False):
    super().__init__(signum, saved)
    self.signum, self.saved = signum, saved


def validate(config):
  """Checks what the types alone don't; raises ConfigError naming the problem."""
  if not config.logdir:
    raise config_lib.ConfigError('--logdir is required.')
  config_lib.check(config)
  logdir = pathlib.Path(config.logdir)
  if logdir.exists() and not logdir.is_dir():
    raise config_lib.ConfigError(f'--logdir {logdir} is a file; give a folder.')
  saved = logdir / 'config.yaml'
  found = logdir_lib.run_files(logdir)
  if found and not saved.exists():
    raise config_lib.ConfigError(
        f'{logdir} holds the files of a run ({", ".join(found)}) but no config.yaml, so what '
        'ran there is unknown: restore its config.yaml, or move the files aside, or use a new '
        '--logdir.')
  if not logdir_lib.complete_checkpoint(logdir / 'checkpoint'):
    _check_sources(config)  # A run reads them until its first checkpoint.
  if saved.exists():
    try:
      previous = config_lib.load_run(saved)
    except config_lib.ConfigError as e:
      raise config_lib.ConfigError(
          f'{e} It is the config of the run in {logdir}: restore it, or use a new '
          '--logdir.') from None
    changed = config_lib.differences(previous, config)
    if changed:
      raise config_lib.ConfigError(
          f'{config.logdir} holds a run with a different config ({"; ".join(changed)}). '
          'Resume it with the same arguments, or use a new --logdir.')


def _check_sources(config):
  """The runs that --transfer_from and --relabel_from name hold what is read of them, and have
  finished: a source still training has a checkpoint and episodes too, of fewer steps."""
  source = pathlib.Path(config.transfer_from)
  if config.transfer_from and not logdir_lib.complete_checkpoint(source / 'checkpoint'):
    raise config_lib.ConfigError(
        f'--transfer_from {source} holds no checkpoint ({source / "checkpoint"} is missing or '
        'incomplete): give the logdir of a trained run.')
  source = pathlib.Path(config.relabel_from) / 'train_eps'
  relabeled = pathlib.Path(config.logdir) / 'relabeled_eps'
  if config.relabel_from and not relabeled.exists() and not any(source.glob('*.npz')):
    raise config_lib.ConfigError(
        f'--relabel_from {config.relabel_from} holds no episodes ({source}/*.npz): give the '
        'logdir of a run.')
  for flag, run in (('transfer_from', config.transfer_from), ('relabel_from', config.relabel_from)):
    unfinished = run and not (flag == 'relabel_from' and relabeled.exists()) and _unfinished(run)
    if unfinished:
      raise config_lib.ConfigError(
          f'--{flag} {run} is not a finished run: {unfinished}. Finish it first (run its '
          'command again), or give the logdir of a finished run.')


def _unfinished(run):
  """Why RUN is not a finished run of train.py, or None. A collected copy of a run holds no
  `done`: its metrics must reach its config's steps."""
  run = pathlib.Path(run)
  if logdir_lib.finished_steps(run) is not None:
    return None
  if not (run / 'config.yaml').exists():
    return 'it holds neither `done` nor config.yaml'
  steps = int(float(config_lib.load_yaml(run / 'config.yaml').get('steps', 0)))
  trained, finished = logdir_lib.progress(run, steps)
  return None if finished else f'it has trained {trained} of its {steps} steps'


def main(argv):
  try:
    config = config_lib.parse_args(argv)
    validate(config)
    lock = logdir_lib.lock(config.logdir)  # Before anything is written to the logdir.
  except (config_lib.ConfigError, ValueError, logdir_lib.Busy) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  except OSError as e:
    print(f'error: Cannot write the lock file {config.logdir}/.lock: {e.strerror}.',
          file=sys.stderr)
    return 1
  with lock:
    return _train(config)


def _train(config):
  # Before any resume logic: a finished run is never trained again, nor its files rewritten.
  finished = logdir_lib.finished_steps(config.logdir)
  if finished is not None and config.steps <= finished:
    print(f'{config.logdir} is complete ({finished} steps); raise --steps to train further.')
    return 0
  for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, _raise_interrupted)
  import tools
  try:
    Trainer(config).train()
  except Interrupted as e:
    saved = ('checkpoint saved' if e.saved else
             'before the training loop, no checkpoint saved; the saved episodes are kept')
    print(f'Interrupted by signal {e.signum}: {saved}; run the same command to resume.')
    return 128 + e.signum
  except tools.WriteError as e:
    print(f'error: {e} The last checkpoint and the saved episodes are intact: free space and '
          'run the same command to resume.', file=sys.stderr)
    return 1
  except (tools.CheckpointError, tools.EpisodeError, tools.EnvError, FloatingPointError,
          config_lib.ConfigError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 1
  return 0


def _raise_interrupted(signum, frame):
  raise Interrupted(signum)


class Trainer:
  """The training loop of Dreamer (Algorithm 1's outer loop): collect, train every
  train_every steps, evaluate every eval_every steps, checkpoint, log. TensorFlow and the tools
  are imported where used, so that train.py checks the config before they load."""

  def __init__(self, config):
    import tensorflow as tf
    import tools
    self.c = c = config
    self.logdir = pathlib.Path(c.logdir)
    with tools.writing('the config', self.logdir / 'config.yaml'):
      c.save(self.logdir / 'config.yaml')
    random.seed(c.seed)
    np.random.seed(c.seed)
    tf.random.set_seed(c.seed)
    if c.deterministic:
      tf.config.experimental.enable_op_determinism()
    self.train_envs = [self._make_env(c.seed + index) for index in range(c.envs)]
    self.eval_env = self._make_env(c.seed + 10_000, render=c.eval_video)
    self.obs_space = {
        k: v for k, v in self.train_envs[0].obs_space.items() if not k.startswith('log_')}
    self.act_space = self.train_envs[0].act_space
    self.signature = {k: (v.shape, v.dtype) for k, v in self.obs_space.items()}
    self.signature.update(
        action=(self.act_space.shape, np.float32), reward=((), np.float32),
        discount=((), np.float32))
    self.fresh = not tools.has_checkpoint(self.logdir / 'checkpoint')
    if self.fresh and c.relabel_from:
      source = pathlib.Path(c.relabel_from) / 'train_eps'
      count = envs.relabel_episodes(c.task, source, self.logdir / 'relabeled_eps')
      if count:
        print(f'Relabeled {count} episodes of {source} with the rewards of {c.task}.')
    episodes = tools.load_episodes(self.logdir / 'train_eps')
    # The last train episodes with skills, whose skill windows skill_r2 decodes at each eval.
    self.skill_episodes = collections.deque(
        (e for e in episodes.values() if 'skill' in e), maxlen=c.skill_r2_episodes)
    # Relabeled source episodes feed the replay but are not this run's environment steps. A
    # finished run being extended counts from where it finished, whatever episode is damaged.
    self.step = max(
        c.action_repeat * sum(tools.episode_length(e) for e in episodes.values()),
        logdir_lib.finished_steps(self.logdir) or 0)
    episodes = {**tools.load_episodes(self.logdir / 'relabeled_eps'), **episodes}
    tools.check_episodes(episodes, self.signature)
    self.replay = tools.Replay(episodes, c.batch_length, c.max_episodes, c.seed)
    self.logger = tools.Logger(self.logdir, self.step)
    with tools.writing('the code record', self.logdir / 'code.jsonl'):
      logdir_lib.record_code(self.logdir, self.step)
    self.disk_bytes = sum(f.stat().st_size for f in self.logdir.rglob('*') if f.is_file())
    self.nonfinite = 0
    self.env_errors = 0
    self.postfix = {}

  def _make_env(self, seed, render=False):
    c = self.c
    return envs.make_env(
        c.task, obs=c.obs, action_repeat=c.action_repeat, time_limit=c.time_limit,
        size=tuple(c.size), seed=seed, render=render)

  def train(self):
    import tensorflow as tf
    import tools
    from dreamer_lsp import lsp
    c = self.c
    # Where the wall time goes: time/NAME and cpu/NAME at each log line (tools.Timer).
    self.timer = tools.Timer()
    try:
      self._prefill()
      with self.timer.section('setup'):
        self.agent = lsp.make_agent(c, self.obs_space, self.act_space)
        self.agent.step.assign(self.step)
        self.dataset = iter(self.replay.dataset(c.batch_size, self.signature))
        self.checkpoint = tf.train.Checkpoint(**self.agent.modules())
      self._initialise()
      self.should_train = tools.Every(c.train_every)
      self.should_log = tools.Every(c.log_every)
      self.should_checkpoint = tools.Every(c.checkpoint_every)
      self.should_checkpoint(self.step)
      self._loop()
    finally:
      # Ends the tf.data generator while Python still runs (else it warns at exit).
      self.dataset = None
      for env in self.train_envs + [self.eval_env]:
        env.close()

  def _loop(self):
    import tools
    c = self.c
    from tqdm import tqdm
    self.progress = tqdm(
        total=c.steps, initial=self.step, unit='step', dynamic_ncols=True, smoothing=0.05,
        disable=None)
    sim_state = None
    frames = c.action_repeat * c.envs
    period = max(c.eval_every // frames, 1) * frames  # Frames between evaluations.
    try:
      while self.step < c.steps:
        last = self.logger.last_step('eval_return')
        if last is None or self.step >= last + period:
          self._evaluate()
          last = self.step
        # Up to the next evaluation, so that a resumed run evaluates where it would have.
        chunk = (min(last + period, c.steps) - self.step) // frames
        try:
          # `env`: what the sections entered by the policy and the callbacks leave of it.
          with self.timer.section('env'):
            sim_state = tools.simulate(
                self._train_policy, self.train_envs, steps=max(chunk, 1) * c.envs,
                state=sim_state, on_episode=[self._on_train_episode])
        except tools.EnvError as e:
          if c.env_error == 'stop':
            raise
          sim_state = self._restart_envs(e)
        self._save_checkpoint()
      self._evaluate()
      self._log_times()
      self._write()
    except Interrupted as e:
      self._save_checkpoint()
      raise Interrupted(e.signum, saved=True) from None
    finally:
      self.progress.close()
    from dreamer_lsp import plot
    with tools.writing('the returns plot', self.logdir / 'returns.png'):
      plot.plot_run(self.logdir)
    # Last, so that a run killed while plotting plots on resume.
    with tools.writing('the done file', self.logdir / 'done'):
      logdir_lib.mark_done(self.logdir, self.step)
    print(f'Finished {self.step} steps; logdir {self.logdir}')

  def _restart_envs(self, error):
    """env_error: continue. The episodes in progress are dropped; saved ones are kept."""
    self.env_errors += 1
    print(f'warning: {error}\nRestarting the environments ({self.env_errors} errors so far).')
    self.logger.scalar('env_errors', self.env_errors)
    for env in self.train_envs:
      with contextlib.suppress(Exception):  # A broken env may fail to close, too.
        env.close()
    self.train_envs = [
        self._make_env(self.c.seed + 100 * self.env_errors + index)
        for index in range(self.c.envs)]
    return None

  def _prefill(self):
    import tools
    from dreamer_lsp import agent
    c = self.c
    missing = c.prefill - self.step
    if missing <= 0:
      return
    print(f'Prefilling the replay with {missing} random steps.')
    random_policy = agent.random_policy(self.act_space, c.seed)

    def policy(obs, reset, state):
      self._advance(len(reset))
      return random_policy(obs, reset, state)

    with self.timer.section('env'):
      tools.simulate(
          policy, self.train_envs, steps=max(1, missing // c.action_repeat),
          on_episode=[self._on_train_episode])

  def _initialise(self):
    """Creates every variable with one update, then restores the run's checkpoint or the
    transfer source's networks over it; a fresh run does its pretraining updates instead."""
    import tensorflow as tf
    import tools
    c = self.c
    # A restore overwrites what this first update trained, so only a fresh run logs it.
    self._update(log=self.fresh and not c.transfer_from)
    if not self.fresh:
      try:
        path = tools.load_checkpoint(self.checkpoint, self.logdir / 'checkpoint')
      except tools.CheckpointError as e:
        raise tools.CheckpointError(
            f'{e} To restart the networks from the saved episodes, move the checkpoint folder '
            'aside (the run then makes up their updates); or restore a backup of it.') from None
      print(f'Resumed from {path} at step {self.step}.')
      return
    if c.transfer_from:
      source = tf.train.Checkpoint(**self._transferred_networks())
      path = tools.load_checkpoint(
          source, pathlib.Path(c.transfer_from) / 'checkpoint', partial=True)
      print(f'Initialised the networks from {path}.')
    # A run whose first checkpoint was never written (the save failed or was killed) makes up
    # the updates of the steps it has, so that it neither goes on nor finishes untrained.
    missed = max(self.step - c.prefill, 0) // c.train_every * c.train_steps
    if missed:
      print(f'No checkpoint at step {self.step}: making up its {missed} updates.')
    for _ in range(c.pretrain - 1 + missed):
      self._update()
    self._write()
    if missed:
      self._save_checkpoint()

  def _transferred_networks(self):
    """The networks a transfer restores. The skill predictor reads windows of
    min(skill_duration, horizon) states (and with `intrinsic_partial` their masks, with
    `skill_pred_input_norm` through a norm layer), so when the target changes that (Obstacles ->
    Cove: K 10 -> 30) its inputs differ and it alone starts afresh."""
    from dreamer_lsp import lsp
    networks = self.agent.networks()
    path = pathlib.Path(self.c.transfer_from) / 'config.yaml'
    if not path.exists():
      return networks  # Not a run of train.py: the restore says what is missing.
    source = config_lib.load_run(path)
    reads = lambda c: (lsp.skill_window(c), c.intrinsic_partial, c.skill_pred_input_norm)
    if 'skill_pred' in networks and reads(self.c) != reads(source):
      del networks['skill_pred']
      print('The skill predictor starts afresh: it reads (window, partial windows, input norm) '
            f"= {reads(self.c)}, the source's {reads(source)}.")
    return networks

  def _update(self, log=True):
    with self.timer.section('replay'):
      batch = next(self.dataset)
    # The first two updates create the variables (eagerly), then trace (with jit, compile) it.
    traced = self.agent.compiled_train.experimental_get_tracing_count()
    with self.timer.section('update' if traced else 'trace'):
      metrics = self.agent.train(batch)
      if not log:
        return
      metrics = {k: float(v) for k, v in metrics.items()}
    if all(np.isfinite(v) for v in metrics.values()):
      self.nonfinite = 0
    else:
      self.nonfinite += 1
      self.logger.scalar('nonfinite_updates', self.nonfinite)
      print(f'Non-finite update skipped ({self.nonfinite} in a row) at step {self.step}.')
      if self.nonfinite >= self.c.max_nonfinite:
        raise FloatingPointError(
            f'{self.nonfinite} non-finite updates in a row; stopping. The last good '
            f'checkpoint is {self.logdir / "checkpoint"}.')
    self.logger.update(metrics)

  def _train_policy(self, obs, reset, state):
    c = self.c
    if self.should_train(self.step):
      for _ in range(c.train_steps):
        self._update()
    if self.should_log(self.step):
      self._write_metrics()
    with self.timer.section('act'):
      action, extras, state = self.agent.policy(obs, reset, state, training=True)
    self._advance(len(reset))
    self.agent.step.assign(self.step)
    return action, extras, state

  def _advance(self, envs):
    self.step += envs * self.c.action_repeat
    self.logger.step = self.step
    if hasattr(self, 'progress'):
      self.progress.update(envs * self.c.action_repeat)

  def _write_metrics(self):
    with self.timer.section('log'):
      self.logger.scalar('replay_mb', self.replay.nbytes / 2 ** 20)
      self._log_times()
      means, rate = self.logger.write_updates()
      self._postfix(updates_per_s=f'{rate:.1f}')
      if self.progress.disable:  # Not a terminal (a sweep's log, CI): one line per log.
        print(f'step {self.step}/{self.c.steps} ' + ' '.join(
            f'{k}={v:.3g}' for k, v in means.items()
            if k in ('model_loss', 'actor_loss', 'value_loss', 'intrinsic_reward')), flush=True)

  def _log_times(self):
    for name, seconds in self.timer.result().items():
      self.logger.scalar(name, seconds)

  def _write(self):
    with self.timer.section('log'):
      self.logger.write()

  def _postfix(self, **values):
    self.postfix.update(values)
    self.progress.set_postfix(self.postfix, refresh=False)

  def _on_train_episode(self, episode):
    import tools
    c = self.c
    with self.timer.section('episodes'):
      path = tools.save_episode(self.logdir / 'train_eps', episode)
      self.replay.add(str(path), episode)
    self.disk_bytes += path.stat().st_size
    self.logger.scalar('disk_mb', self.disk_bytes / 2 ** 20)
    self.logger.scalar('train_return', float(episode['reward'].sum()))
    self.logger.scalar('train_length', tools.episode_length(episode) * c.action_repeat)
    self.logger.scalar('train_episodes', len(self.replay))
    if 'skill' in episode:
      self.skill_episodes.append(episode)
      switches = episode['skill'][1:][episode['skill_switch'][1:]]
      if len(switches) > 1:
        change = np.linalg.norm(np.diff(switches, axis=0), axis=-1).mean()
        self.logger.scalar('act_skill_change', change)
    if hasattr(self, 'agent'):
      self._postfix(train_return=f'{episode["reward"].sum():.1f}')
      if self.should_checkpoint(self.step):
        self._save_checkpoint()
    self._write()

  def _evaluate(self):
    if self.logger.last_step('eval_return') == self.step:  # Evaluated before a resume.
      return
    with self.timer.section('eval'):
      self._run_eval_episodes()

  def _run_eval_episodes(self):
    import tools
    c = self.c
    frames = []

    def policy(obs, reset, state):
      if c.eval_video:
        frames.append(self.eval_env.render())
      return self.agent.policy(obs, reset, state, training=False)

    returns, successes = [], []
    on_episode = [lambda e: returns.append(float(e['reward'].sum())),
                  lambda e: tools.save_episode(self.logdir / 'eval_eps', e)]
    if c.task in envs.SUCCESS:
      on_episode.append(lambda e: successes.append(envs.succeeded(c.task, e)))
    tools.simulate(policy, [self.eval_env], episodes=c.eval_episodes, on_episode=on_episode)
    self.logger.scalar('eval_return', np.mean(returns))
    if successes:
      self.logger.scalar('eval_success', np.mean(successes))
    with self.timer.section('skill_r2'):
      self._decode_skills()
    if frames:
      self.logger.video('eval', np.stack(frames))
    self._write()
    self._postfix(eval_return=f'{np.mean(returns):.1f}')

  def _decode_skills(self):
    """skill_r2 and its reference skill_r2_start: how well a cross-validated linear decoder
    tells the skill of a window of the last train episodes from what the agent did in it, and
    from the observation it started at alone (dreamer_lsp/skill_decoding.py)."""
    if 'vector' not in self.obs_space:
      return
    behaviour, start, windows = skill_decoding.skill_r2(
        self.skill_episodes, self.c.skill_duration, self.c.skill_r2_folds)
    if behaviour is not None:
      self.logger.scalar('skill_r2', behaviour)
      self.logger.scalar('skill_r2_start', start)
      self.logger.scalar('skill_r2_windows', windows)

  def _save_checkpoint(self):
    import tools
    self._write()  # This step's metrics first: a failed or killed save must not lose them.
    start = time.time()
    with self.timer.section('checkpoint'):
      tools.save_checkpoint(self.checkpoint, self.logdir / 'checkpoint')
    self.logger.scalar('checkpoint_seconds', time.time() - start)
    self._write()


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
