"""The networks and updates of Dreamer and LSP on random data with tiny sizes."""
import numpy as np
import pytest
import tensorflow as tf

import tools
from conftest import debug_config, random_batch
from dreamer_lsp import lsp, models

PRESETS = ['dreamer', 'lsp', 'lsp_literal', 'random_skills', 'randskillsinp', 'no_mi', 'hiro',
           'lsp_fixed_policy']


def _values(modules):
  return [v.numpy().copy() for m in modules for v in m.trainable_variables]


def _changed(before, modules):
  after = _values(modules)
  return [not np.array_equal(a, b) for a, b in zip(before, after)]


@pytest.mark.parametrize('preset, overrides', [
    ('dreamer', {}), ('lsp', {}), ('hiro', {}),
    ('lsp', {'value_skill_input': True, 'intrinsic_in_value': False}),
    ('lsp', {'intrinsic_partial': True, 'skill_pred_input_norm': True,
             'skill_mi_target_lr': 1e-3}),
    ('hiro', {'pcont': True, 'intrinsic_in_value': False})])
def test_every_trainable_variable_is_updated(preset, overrides, spaces, eager):
  # Without free nats, so that the KL term always reaches the prior's layers.
  config = debug_config(preset, free_nats=0.0, **overrides)
  agent = lsp.make_agent(config, *spaces)
  agent.train(random_batch(config))  # Creates the variables.
  networks = agent.networks()
  counts = {k: len(m.trainable_variables) for k, m in networks.items()}
  # tf_keras layers are tracked (Keras 3 layers in a tf.Module would give zero here).
  assert all(count >= 2 for count in counts.values()), counts
  before = {k: _values([m]) for k, m in networks.items()}
  agent.train(random_batch(config, seed=1))
  for name, module in networks.items():
    changed = _changed(before[name], [module])
    assert all(changed), f'{name}: {sum(changed)}/{len(changed)} variables updated'


def test_shapes_and_dtypes_of_the_modules(spaces):
  config = debug_config('lsp')
  agent = lsp.make_agent(config, *spaces)
  batch = random_batch(config)
  metrics = agent.train(batch)
  assert all(m.dtype == tf.float32 and m.shape == () for m in metrics.values())
  embed = agent._encode({'vector': batch['vector']})
  assert embed.shape == (config.batch_size, config.batch_length, config.mlp_units)
  post, prior = agent._dynamics.observe(embed, batch['action'])
  assert post['stoch'].shape == (config.batch_size, config.batch_length, config.stoch_size)
  assert prior['deter'].shape == (config.batch_size, config.batch_length, config.deter_size)
  feat = agent._dynamics.get_feat(post)
  assert agent._decode(feat).sample().shape == batch['vector'].shape
  assert agent._reward(feat).mode().shape == batch['reward'].shape
  std = agent._decode(feat).distribution.stddev().numpy()
  assert std.min() > config.obs_std_min and std.max() < config.obs_std_min + config.obs_std_max
  start = {k: tf.reshape(v, [-1] + v.shape[2:].as_list()) for k, v in post.items()}
  mean, std, _ = agent.cem(start, groups=1)
  assert mean.shape == std.shape == (1, agent.plan_length, config.skill_dim)
  states, skills, _ = agent.imagine(
      start, config.horizon, agent._skill_chooser((mean[0], std[0])))
  count = config.batch_size * config.batch_length
  assert states['deter'].shape == (config.horizon, count, config.deter_size)
  assert skills.shape == (config.horizon, count, config.skill_dim)
  # A skill is held for skill_duration steps, then re-sampled.
  k = config.skill_duration
  np.testing.assert_array_equal(skills[0].numpy(), skills[k - 1].numpy())
  assert not np.allclose(skills[0].numpy(), skills[k].numpy())


def test_gaussian_head_std_is_softly_clamped_to_its_bounds():
  tf.random.set_seed(0)
  head = models.GaussianHead(8, 2, 64, 'elu', min_std=0.1, max_std=1.5)
  features = 1e3 * tf.random.normal([256, 16])  # drives the raw log-std to both extremes
  std = head(features).distribution.stddev().numpy()
  assert std.min() == pytest.approx(0.1, rel=1e-3)
  assert std.max() == pytest.approx(0.1 + 1.5, rel=1e-3)


@pytest.mark.parametrize('preset', ['dreamer', 'lsp'])
def test_behaviour_losses_leave_the_world_model_untouched(preset, spaces):
  config = debug_config(preset)
  agent = lsp.make_agent(config, *spaces)
  batch = random_batch(config)
  agent.train(batch)
  data = agent._preprocess(batch)
  post, _ = agent._dynamics.observe(agent._encode(data), data['action'])
  start = {k: tf.reshape(v, [-1] + v.shape[2:].as_list()) for k, v in post.items()}
  world_model = agent._model_modules
  before = _values(world_model)
  before_actor = _values([agent._actor])
  agent._train_behavior(start)
  assert not any(_changed(before, world_model))
  assert all(_changed(before_actor, [agent._actor]))


def test_actor_value_and_skill_predictor_gradients_come_from_their_own_losses(
    spaces, monkeypatch):
  config = debug_config('lsp')
  agent = lsp.make_agent(config, *spaces)
  agent.train(random_batch(config))
  data = agent._preprocess(random_batch(config, seed=2))
  post, _ = agent._dynamics.observe(agent._encode(data), data['action'])
  start = {k: tf.reshape(v, [-1] + v.shape[2:].as_list()) for k, v in post.items()}
  # Each optimizer updates exactly its own module, from its own loss.
  updates = {}

  def spy(self, tape, loss, modules):
    others = [v for m in (agent._actor, agent._value, agent._skill_pred) if m not in modules
              for v in m.trainable_variables]
    updates[self.name] = (
        [m.name for m in modules], [g is None for g in tape.gradient(loss, others)])
    return tf.constant(0.0)

  monkeypatch.setattr(tools.Optimizer, '__call__', spy)
  agent._train_behavior(start)
  assert updates['actor'][0] == [agent._actor.name]
  assert updates['value'][0] == [agent._value.name]
  assert updates['skill_pred'][0] == [agent._skill_pred.name]
  # The skill predictor's loss reaches no other behaviour module. (The value loss shares the
  # actor's value forward, so it has a path to the actor, which its optimizer doesn't train.)
  assert all(updates['skill_pred'][1])


@pytest.mark.parametrize('mode', ['eager', pytest.param('graph', marks=pytest.mark.slow)])
@pytest.mark.parametrize('preset', PRESETS)
def test_every_preset_updates_and_acts(preset, mode, spaces, monkeypatch, request):
  if mode == 'eager':
    request.getfixturevalue('eager')
  config = debug_config(preset)
  agent = lsp.make_agent(config, *spaces)
  planner_calls = []
  if isinstance(agent, lsp.LSP):
    original = agent.cem
    monkeypatch.setattr(agent, 'cem', lambda *a, **k: planner_calls.append(1) or original(*a, **k))
  agent.train(random_batch(config))
  actor_before = _values([agent._actor])
  for seed in range(3):
    metrics = {k: float(v) for k, v in agent.train(random_batch(config, seed=seed)).items()}
    assert all(np.isfinite(v) for v in metrics.values()), metrics
  state = None
  for t in range(2 * config.skill_duration + 1):
    obs = {'vector': np.random.randn(3, 5).astype(np.float32)}
    action, extras, state = agent.policy(obs, np.array([t == 0] * 3), state, training=True)
    assert action.shape == (3, 2) and action.dtype == np.float32
    assert np.all(np.abs(action) <= 1)
    if preset != 'dreamer':
      assert extras['skill'].shape == (3, config.skill_dim)
      assert extras['skill_switch'].tolist() == [t % config.skill_duration == 0] * 3
  action, _, _ = agent.policy(obs, np.array([False] * 3), state, training=False)
  assert action.shape == (3, 2)
  if preset in ('no_mi', 'randskillsinp'):
    assert metrics['intrinsic_reward'] == 0.0
  elif preset != 'dreamer':
    assert metrics['intrinsic_reward'] != 0.0
  if preset in ('random_skills', 'randskillsinp', 'hiro'):
    assert not planner_calls
  if preset in ('lsp', 'lsp_literal', 'no_mi', 'lsp_fixed_policy'):
    assert planner_calls  # Traced into both the update and the policy.
  if preset == 'lsp_fixed_policy':
    assert not any(_changed(actor_before, [agent._actor]))
  else:
    assert all(_changed(actor_before, [agent._actor]))


def test_transfer_restores_every_network_variable(spaces, tmp_path):
  config = debug_config('lsp')
  source = lsp.make_agent(config, *spaces)
  source.train(random_batch(config))
  tools.save_checkpoint(tf.train.Checkpoint(**source.modules()), tmp_path / 'checkpoint')
  target = lsp.make_agent(config, *spaces)
  target.train(random_batch(config, seed=3))
  tools.load_checkpoint(
      tf.train.Checkpoint(**target.networks()), tmp_path / 'checkpoint', partial=True)
  for name, module in target.networks().items():
    for a, b in zip(module.trainable_variables, source.networks()[name].trainable_variables):
      np.testing.assert_array_equal(a.numpy(), b.numpy())
  # A Dreamer checkpoint lacks LSP's skill predictor: an error, not a silent partial load.
  dreamer = lsp.make_agent(debug_config('dreamer'), *spaces)
  dreamer.train(random_batch(config))
  tools.save_checkpoint(tf.train.Checkpoint(**dreamer.modules()), tmp_path / 'dreamer')
  with pytest.raises(tools.CheckpointError):
    tools.load_checkpoint(
        tf.train.Checkpoint(**target.networks()), tmp_path / 'dreamer', partial=True)


def test_pixel_world_model_shapes_and_gradients():
  import gymnasium
  obs_space = {'image': gymnasium.spaces.Box(0, 255, (64, 64, 3), np.uint8)}
  act_space = gymnasium.spaces.Box(-1, 1, (2,), np.float32)
  config = debug_config('dreamer', obs='pixels', free_nats=0.0)
  agent = lsp.make_agent(config, obs_space, act_space)
  batch = random_batch(config)
  del batch['vector']
  rng = np.random.RandomState(0)
  batch['image'] = rng.randint(0, 255, (config.batch_size, config.batch_length, 64, 64, 3),
                               dtype=np.uint8)
  agent.train(batch)
  embed = agent._encode(agent._preprocess({'image': batch['image']}))
  assert embed.shape == (config.batch_size, config.batch_length, 32 * config.cnn_depth)
  feat = tf.zeros((2, 3, config.deter_size + config.stoch_size))
  assert agent._decode(feat).mean().shape == (2, 3, 64, 64, 3)
  before = _values([agent._encode, agent._decode])
  agent.train(batch)
  assert all(_changed(before, [agent._encode, agent._decode]))
