import errno
import json
import os
import pathlib
import time

import numpy as np
import pytest
import tensorflow as tf

import tools


def test_lambda_return_matches_hand_computation():
  reward = tf.constant([[1.0], [2.0], [3.0]])
  value = tf.constant([[10.0], [20.0], [30.0]])
  bootstrap = tf.constant([40.0])
  gamma, lam = 0.9, 0.5
  returns = tools.lambda_return(reward, value, gamma, bootstrap, lam, axis=0).numpy()[:, 0]
  # G_t = r_t + gamma * ((1 - lam) * v_{t+1} + lam * G_{t+1}), G_3 = bootstrap.
  g2 = 3 + gamma * 40
  g1 = 2 + gamma * ((1 - lam) * 30 + lam * g2)
  g0 = 1 + gamma * ((1 - lam) * 20 + lam * g1)
  np.testing.assert_allclose(returns, [g0, g1, g2], rtol=1e-6)


def test_lambda_return_along_axis_one():
  reward = tf.random.normal((4, 6))
  value = tf.random.normal((4, 6))
  bootstrap = tf.random.normal((4,))
  along_1 = tools.lambda_return(reward, value, 0.99, bootstrap, 0.95, axis=1)
  along_0 = tools.lambda_return(
      tf.transpose(reward), tf.transpose(value), 0.99, bootstrap, 0.95, axis=0)
  np.testing.assert_allclose(along_1.numpy(), tf.transpose(along_0).numpy(), rtol=1e-5)


def _episode(length, start=0):
  return {
      'vector': np.arange(start, start + length + 1, dtype=np.float32)[:, None],
      'action': np.zeros((length + 1, 2), np.float32),
      'reward': np.ones(length + 1, np.float32),
      'discount': np.ones(length + 1, np.float32)}


def test_episode_round_trip(tmp_path):
  episode = _episode(7)
  path = tools.save_episode(tmp_path, episode)
  assert path.name.endswith('-7.npz')
  assert not list(tmp_path.glob('*.tmp'))
  loaded = tools.load_episodes(tmp_path)[str(path)]
  assert loaded.keys() == episode.keys()
  for key in episode:
    np.testing.assert_array_equal(loaded[key], episode[key])
    assert loaded[key].dtype == episode[key].dtype


def test_corrupt_episode_is_reported_and_skipped(tmp_path):
  good = tools.save_episode(tmp_path, _episode(5))
  bad = tools.save_episode(tmp_path, _episode(6))
  data = bad.read_bytes()
  bad.write_bytes(data[:len(data) // 2])
  with pytest.warns(UserWarning, match=f'Corrupt episode file {bad}'):
    episodes = tools.load_episodes(tmp_path)
  assert list(episodes) == [str(good)]
  assert bad.exists()  # Left in place for the user to inspect.


def test_replay_chunks_never_cross_episode_ends():
  # Values encode (episode, index): a chunk crossing an end would mix hundreds.
  episodes = {f'e{i}': _episode(length, start=100 * i)
              for i, length in enumerate([3, 9, 20, 12])}
  replay = tools.Replay(episodes, length=8, seed=1)
  for _ in range(300):
    chunk = replay.sample()['vector'][:, 0]
    assert len(chunk) == 8
    assert np.all(np.diff(chunk) == 1)
    assert chunk[0] // 100 != 0  # Episode 0 is too short to give a whole chunk.


def test_replay_bound_drops_oldest_from_sampler():
  replay = tools.Replay({f'e{i}': _episode(10, 100 * i) for i in range(5)}, 4, max_episodes=2)
  assert len(replay) == 2
  starts = {replay.sample()['vector'][0, 0] // 100 for _ in range(100)}
  assert starts == {3, 4}
  one = sum(v.nbytes for v in _episode(10, 0).values())
  assert replay.nbytes == 2 * one
  replay.add('e5', _episode(10, 500))
  replay.add('e5', _episode(10, 500))  # The same key again replaces, it doesn't add.
  assert len(replay) == 2 and replay.nbytes == 2 * one


def test_replay_dataset_shapes():
  replay = tools.Replay({f'e{i}': _episode(10, 100 * i) for i in range(3)}, length=6)
  signature = {'vector': ((1,), np.float32), 'action': ((2,), np.float32),
               'reward': ((), np.float32)}
  batch = next(iter(replay.dataset(4, signature)))
  assert batch['vector'].shape == (4, 6, 1)
  assert batch['action'].shape == (4, 6, 2)
  assert batch['reward'].dtype == tf.float32


class _Counter(tf.Module):

  def __init__(self):
    self.v = tf.Variable([1.0, 2.0])


def test_checkpoint_round_trip_and_errors(tmp_path):
  module = _Counter()
  checkpoint = tf.train.Checkpoint(counter=module)
  with pytest.raises(tools.CheckpointError, match='No checkpoint at'):
    tools.load_checkpoint(checkpoint, tmp_path / 'ckpt')
  tools.save_checkpoint(checkpoint, tmp_path / 'ckpt')
  module.v.assign([5.0, 6.0])
  tools.save_checkpoint(checkpoint, tmp_path / 'ckpt')  # Overwrites atomically.
  assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt']
  module.v.assign([0.0, 0.0])
  tools.load_checkpoint(checkpoint, tmp_path / 'ckpt')
  np.testing.assert_array_equal(module.v.numpy(), [5.0, 6.0])
  # A checkpoint of another shape fails with a message, and leaves the variable alone.
  other = _Counter()
  other.v = tf.Variable([1.0, 2.0, 3.0])
  with pytest.raises(tools.CheckpointError, match='Cannot restore'):
    tools.load_checkpoint(tf.train.Checkpoint(counter=other), tmp_path / 'ckpt')
  # A corrupt data file is reported too.
  for path in (tmp_path / 'ckpt').glob('variables.data*'):
    path.write_bytes(b'garbage')
  with pytest.raises(tools.CheckpointError):
    tools.load_checkpoint(checkpoint, tmp_path / 'ckpt')


def test_checkpoint_killed_between_renames_is_recovered(tmp_path):
  module = _Counter()
  checkpoint = tf.train.Checkpoint(counter=module)
  tools.save_checkpoint(checkpoint, tmp_path / 'ckpt')
  os.replace(tmp_path / 'ckpt', tmp_path / 'ckpt.old')
  assert tools.has_checkpoint(tmp_path / 'ckpt')  # So train.py resumes rather than restarts.
  module.v.assign([0.0, 0.0])
  tools.load_checkpoint(checkpoint, tmp_path / 'ckpt')
  np.testing.assert_array_equal(module.v.numpy(), [1.0, 2.0])


def test_logger_resume_drops_later_and_truncated_lines(tmp_path):
  logger = tools.Logger(tmp_path, step=0)
  for step in (10, 20, 30):
    logger.step = step
    logger.scalar('loss', step)
    logger.write()
  with (tmp_path / 'metrics.jsonl').open('a') as f:
    f.write('{"step": 40, "lo')  # Killed mid-line.
  resumed = tools.Logger(tmp_path, step=20)
  lines = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
  assert [line['step'] for line in lines] == [10, 20]
  assert resumed.last_step('loss') == 20 and resumed.last_step('eval_return') is None


def test_every():
  every = tools.Every(10)
  assert [s for s in range(0, 35, 5) if every(s)] == [0, 10, 20, 30]


def test_timer_sections_exclude_the_sections_inside_them():
  timer = tools.Timer()
  with timer.section('outer'):
    time.sleep(0.05)
    with timer.section('inner'):
      time.sleep(0.1)
    with timer.section('inner'):
      time.sleep(0.1)
  time.sleep(0.05)  # Outside any section: in the total only.
  result = timer.result()
  # Loose upper bounds: a busy machine wakes sleepers late.
  assert 0.05 <= result['time/outer'] < 0.15 and 0.2 <= result['time/inner'] < 0.3
  assert result['time/total'] >= 0.3 and result['time/total'] - 0.05 >= (
      result['time/outer'] + result['time/inner'])
  assert result['cpu/inner'] < 0.1  # Sleeping takes no CPU.
  with timer.section('outer'):
    pass
  assert set(timer.result()) == {'time/outer', 'cpu/outer', 'time/total', 'cpu/total'}


def test_checkpoint_save_after_a_killed_save_with_a_subfolder(tmp_path):
  """A kill inside TF's write leaves checkpoint.tmp/variables_temp/; the next save clears it."""
  module = _Counter()
  checkpoint = tf.train.Checkpoint(counter=module)
  tools.save_checkpoint(checkpoint, tmp_path / 'ckpt')
  leftover = tmp_path / 'ckpt.tmp' / 'variables_temp'
  leftover.mkdir(parents=True)
  (leftover / 'part-00000-of-00001.data-00000-of-00001').write_bytes(b'half')
  module.v.assign([5.0, 6.0])
  tools.save_checkpoint(checkpoint, tmp_path / 'ckpt')
  assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt']
  module.v.assign([0.0, 0.0])
  tools.load_checkpoint(checkpoint, tmp_path / 'ckpt')
  np.testing.assert_array_equal(module.v.numpy(), [5.0, 6.0])


class _FullDisk:
  """A checkpoint whose write stops half-way, as on a full disk."""

  def __init__(self, error):
    self._error = error

  def write(self, prefix):
    temp = pathlib.Path(prefix + '_temp')
    temp.mkdir(parents=True)
    (temp / 'part-00000-of-00001.data-00000-of-00001').write_bytes(b'half')
    raise self._error


@pytest.mark.parametrize('error', [
    OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
    tf.errors.ResourceExhaustedError(None, None, (  # As TF words it on a full tmpfs.
        '{{function_node __wrapped__MergeV2Checkpoints_device_/job:localhost/replica:0/task:0/'
        'device:CPU:0}} No space left on device [Op:MergeV2Checkpoints]'))])
def test_checkpoint_write_on_a_full_disk_keeps_the_last_one(tmp_path, error):
  module = _Counter()
  checkpoint = tf.train.Checkpoint(counter=module)
  tools.save_checkpoint(checkpoint, tmp_path / 'ckpt')
  with pytest.raises(tools.WriteError) as info:
    tools.save_checkpoint(_FullDisk(error), tmp_path / 'ckpt')
  message = str(info.value)
  assert message.startswith(
      f'Cannot write the checkpoint to {tmp_path / "ckpt.tmp"}: No space left on device; ')
  assert message.endswith(' free there.') and '\n' not in message
  assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt']  # The partial write is gone.
  module.v.assign([0.0, 0.0])
  tools.load_checkpoint(checkpoint, tmp_path / 'ckpt')
  np.testing.assert_array_equal(module.v.numpy(), [1.0, 2.0])


def test_episode_write_on_a_full_disk(tmp_path, monkeypatch):
  kept = tools.save_episode(tmp_path, _episode(5))

  def full(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  monkeypatch.setattr(os, 'fsync', full)
  with pytest.raises(tools.WriteError, match=(
      f'Cannot write the episode to {tmp_path}/.*-6.tmp: No space left on device; '
      r'[0-9.]+ [MG]B free there.$')):
    tools.save_episode(tmp_path, _episode(6))
  assert list(tmp_path.iterdir()) == [kept]
  assert list(tools.load_episodes(tmp_path)) == [str(kept)]
