"""Transfer through relabeled replay (Walk -> Reach), the skill noise of Sec. 3.2, and a frozen
policy's need for a source run."""
import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

import tools
import train
from conftest import debug_config, run_train
from dreamer_lsp import envs
from dreamer_lsp import lsp
from dreamer_lsp.sweep import results


@pytest.mark.slow
def test_relabeled_source_episodes_join_the_replay_but_not_the_step_count(
    finished_lsp_run, tmp_path):
  """The source is a collected copy (sweep --collect --keep checkpoint train_eps): what a
  committed source holds is all that a transfer reads."""
  source = tmp_path / 'collected'
  source.mkdir()
  for name in results.RESULT_FILES:
    if (finished_lsp_run / name).exists():
      shutil.copy2(finished_lsp_run / name, source)
  assert results._keep(finished_lsp_run, source, ('checkpoint', 'train_eps')) is None
  target = tmp_path / 'target'
  result = run_train(target, '--configs', 'debug', 'lsp', '--steps', '150',
                     '--transfer_from', str(source), '--relabel_from', str(source))
  assert result.returncode == 0, result.stderr
  assert 'Initialised the networks from' in result.stdout
  originals = tools.load_episodes(source / 'train_eps')
  relabeled = tools.load_episodes(target / 'relabeled_eps')
  assert len(relabeled) == len(originals) == 12
  for episode in relabeled.values():
    np.testing.assert_allclose(episode['reward'], envs.relabel('point_reach', episode))
  # The target's own steps start at 0: 150 steps of its own, 3 episodes.
  assert len(list((target / 'train_eps').glob('*.npz'))) == 3
  metrics = [json.loads(line) for line in (target / 'metrics.jsonl').read_text().splitlines()]
  assert [m['step'] for m in metrics if 'train_return' in m] == [50, 100, 150]


def _weights(logdir, prefix):
  """The values of a checkpoint's variables under `prefix`, without optimizer slots."""
  reader = tf.train.load_checkpoint(str(logdir / 'checkpoint' / 'variables'))
  return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
          if name.startswith(prefix) and 'OPTIMIZER_SLOT' not in name}


@pytest.mark.slow
def test_a_frozen_policy_with_longer_skills_keeps_the_source_actor(finished_lsp_run, tmp_path):
  """Obstacles -> Cove's path: lsp_fixed_policy with longer skills (K 3 -> 5, H 6 -> 10). The
  skill predictor's window grows, so it alone starts afresh; the frozen actor stays the
  source's while the world model trains on."""
  result = run_train(
      tmp_path, '--configs', 'debug', 'lsp_fixed_policy', '--transfer_from',
      str(finished_lsp_run), '--skill_duration', '5', '--plan_horizon', '10', '--steps', '200')
  assert result.returncode == 0, result.stdout + result.stderr
  assert 'Initialised the networks from' in result.stdout
  assert 'The skill predictor starts afresh' in result.stdout
  source, target = (_weights(path, 'actor/') for path in (finished_lsp_run, tmp_path))
  assert source and source.keys() == target.keys()
  for name in source:
    np.testing.assert_array_equal(source[name], target[name], err_msg=name)
  source, target = (_weights(path, 'dynamics/') for path in (finished_lsp_run, tmp_path))
  assert any(not np.array_equal(source[name], target[name]) for name in source)


def test_skill_noise_is_added_after_the_cem_only(monkeypatch, spaces):
  for per_rollout in (False, True):
    config = debug_config('lsp', skill_noise=0.1, skill_noise_per_rollout=per_rollout)
    agent = lsp.make_agent(config, *spaces)
    shape = (1, agent.plan_length, config.skill_dim)
    monkeypatch.setattr(agent, 'cem', lambda start, groups: (
        tf.fill(shape, 2.0), tf.fill(shape, 0.5), {}))
    start = agent._dynamics.initial(8)
    means = np.stack([agent._plan_skills(start)[0][0].numpy() for _ in range(400)])
    stds = np.stack([agent._plan_skills(start)[0][1].numpy() for _ in range(10)])
    if per_rollout:  # Each rollout's noise: one Gaussian of the summed variances.
      np.testing.assert_allclose(means, 2.0)
      np.testing.assert_allclose(stds, np.sqrt(0.5 ** 2 + 0.1 ** 2), rtol=1e-6)
    else:  # One draw moves the whole update's mean; the CEM's spread is kept as it is.
      np.testing.assert_allclose(stds, 0.5)
      assert abs(means.mean() - 2.0) < 0.02
      assert abs(means.std() - 0.1) < 0.02


def test_acting_skills_take_their_own_noise(monkeypatch, spaces):
  """MPC adds N(0, act_skill_noise) to the acting CEM's mean, whatever the imagination's
  skill_noise; evaluation acts with the mean itself."""
  config = debug_config('lsp', skill_noise=1.0, act_skill_noise=0.2)
  agent = lsp.make_agent(config, *spaces)
  envs = 500
  shape = (envs, agent.plan_length, config.skill_dim)
  monkeypatch.setattr(agent, 'cem', lambda start, groups: (
      tf.fill(shape, 2.0), tf.fill(shape, 1e-6), {}))
  latent = agent._dynamics.initial(envs)
  feat = agent._dynamics.get_feat(latent)
  sampled = agent._skills.act(feat, latent, tf.constant(True)).numpy()
  assert abs(sampled.mean() - 2.0) < 0.03
  assert abs(sampled.std() - 0.2) < 0.02
  np.testing.assert_allclose(
      agent._skills.act(feat, latent, tf.constant(False)).numpy(), 2.0)


def test_a_frozen_policy_needs_a_source_run(tmp_path, capsys):
  assert train.main(['--configs', 'debug', 'lsp_fixed_policy', '--logdir', str(tmp_path)]) == 2
  assert 'give the source run with --transfer_from' in capsys.readouterr().err
  assert not (tmp_path / 'config.yaml').exists()
