"""The skill planner and the backward skill predictor on problems with known answers."""
import math

import numpy as np
import pytest
import tensorflow as tf

from dreamer_lsp import lsp
from dreamer_lsp import models
from tensorflow_probability import distributions as tfd


def test_cem_converges_to_the_optimum_of_a_quadratic():
  tf.random.set_seed(0)
  optimum = tf.constant([[[0.7, -1.2, 0.3]], [[-0.5, 0.0, 1.5]]])  # Two groups, plan length 1.
  score = lambda plans, mean: -tf.reduce_sum((plans - optimum[:, None]) ** 2, [-2, -1])
  mean, std, metrics = lsp.cem(score, groups=2, plan=1, dim=3, population=64, elites=8,
                               iterations=8)
  np.testing.assert_allclose(mean.numpy(), optimum.numpy(), atol=0.15)
  assert std.numpy().max() < 0.2
  values = [float(metrics[f'cem_elite_value_{i}']) for i in range(8)]
  assert values[-1] > values[0]


def test_cem_refits_to_the_top_elites():
  tf.random.set_seed(1)
  seen = []

  def score(plans, mean):
    seen.append(plans)
    return plans[..., 0, 0]  # The first coordinate is the score.

  mean, std, _ = lsp.cem(score, groups=1, plan=1, dim=2, population=10, elites=3, iterations=1)
  candidates = seen[0].numpy()[0, :, 0]
  top = candidates[np.argsort(-candidates[:, 0])[:3]]
  np.testing.assert_allclose(mean.numpy()[0, 0], top.mean(0), rtol=1e-5)
  np.testing.assert_allclose(std.numpy()[0, 0], top.std(0), rtol=1e-3)


def _train_predictor(informative, steps=300, seed=0):
  """Fits q(z | states) where the states do or do not depend on the skill z ~ N(0, I)."""
  tf.random.set_seed(seed)
  rng = np.random.RandomState(seed)
  mixing = rng.randn(3, 20).astype(np.float32)
  predictor = models.GaussianHead(3, 2, 64, 'elu', 0.1, 1.5)
  optimizer = tf.keras.optimizers.Adam(3e-3)

  def batch():
    z = rng.randn(256, 3).astype(np.float32)
    states = z @ mixing if informative else rng.randn(256, 20).astype(np.float32)
    noise = 0.1 * rng.randn(256, 20).astype(np.float32)  # The input noise of A.7.
    return states + noise, z

  @tf.function
  def step(states, z):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(predictor(states).log_prob(z))
    variables = predictor.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

  predictor(batch()[0])  # Creates the variables before the step is traced.
  for _ in range(steps):
    step(*batch())
  states, z = batch()
  return float(tf.reduce_mean(predictor(states).log_prob(z)))


def test_intrinsic_reward_rises_only_when_skills_change_the_states():
  prior = -1.5 * math.log(2 * math.pi * math.e)  # E[log N(z; 0, I)] in 3 dimensions.
  informative = _train_predictor(True)
  uninformative = _train_predictor(False)
  assert informative > prior + 3.0, (informative, prior)
  assert abs(uninformative - prior) < 0.3, (uninformative, prior)


def test_mutual_information_estimate_matches_closed_forms(monkeypatch, spaces):
  """Random skills are drawn from N(0, I). A predictor that ignores the states and says N(0, s)
  scores E[log q] + H[p] = d/2 (1 - 1/s^2 - log s^2): 0 nats for s = 1, less otherwise."""
  from conftest import debug_config, random_batch
  config = debug_config('random_skills', batch_size=32, batch_length=32)
  agent = lsp.make_agent(config, *spaces)
  agent.train(random_batch(config))
  monkeypatch.setattr(agent, '_train_skills', lambda tape, losses: {})
  data = agent._preprocess(random_batch(config, seed=1))
  post, _ = agent._dynamics.observe(agent._encode(data), data['action'])
  start = {k: tf.reshape(v, [-1] + v.shape[2:].as_list()) for k, v in post.items()}
  for scale in (1.0, 0.7, 2.0):
    monkeypatch.setattr(agent, '_skill_pred', lambda inputs: tfd.Independent(tfd.Normal(
        tf.zeros(inputs.shape[:-1] + (config.skill_dim,)), scale), 1))
    expected = config.skill_dim / 2 * (1 - 1 / scale ** 2 - math.log(scale ** 2))
    estimate = float(agent._train_behavior(start)['skill_mi'])
    assert abs(estimate - expected) < 0.3, (scale, estimate, expected)


def _prior_plan_and_rollouts(agent, config, rollouts):
  """A skill plan of N(0, I) per segment, start states and `horizon` imagined states that all
  equal them, for feeding the agent's skill objectives by hand."""
  plan = (tf.zeros((agent.plan_length, config.skill_dim)),
          tf.ones((agent.plan_length, config.skill_dim)))
  start = agent._dynamics.initial(rollouts)
  states = {key: tf.stack([value] * config.horizon) for key, value in start.items()}
  return plan, start, states


def _train_agents_predictor(spaces, informative, updates=300):
  """LSP's own skill objectives on imagined rollouts whose states do or do not encode the skill
  held in them: the intrinsic reward and MI estimate after the predictor has trained."""
  from conftest import debug_config
  config = debug_config('lsp')
  agent = lsp.make_agent(config, *spaces)
  tf.random.set_seed(0)
  rng = np.random.RandomState(0)
  rollouts, horizon, k = 256, config.horizon, config.skill_duration
  plan, start, states = _prior_plan_and_rollouts(agent, config, rollouts)
  mixing = tf.constant(rng.randn(config.skill_dim, config.deter_size).astype(np.float32))

  @tf.function
  def update():
    z = tf.random.normal((horizon // k + 1, rollouts, config.skill_dim))
    skills = tf.repeat(z, k, axis=0)[:horizon]
    deter = skills @ mixing if informative else tf.random.normal(
        (horizon, rollouts, config.deter_size))
    imagined = dict(states, deter=deter)
    feat = agent._dynamics.get_feat(imagined)
    zeros = tf.zeros((horizon, rollouts))
    with tf.GradientTape(persistent=True) as tape:
      _, losses, metrics = agent._skill_objectives(
          plan, start, imagined, skills, agent._continuation(feat), zeros, zeros)
    agent._train_skills(tape, losses)
    return metrics

  for _ in range(updates):
    metrics = update()
  return float(metrics['intrinsic_reward']), float(metrics['skill_mi'])


def test_intrinsic_reward_and_mi_estimate_rise_when_the_skills_can_be_told_apart(spaces):
  """The agent's intrinsic reward (centred by log N(z; 0, I)) and its MI estimate: near 0 when
  the states say nothing about the skill, well above it when they encode it."""
  reward, mutual_info = _train_agents_predictor(spaces, informative=True)
  assert reward > 2.0 and mutual_info > 2.0, (reward, mutual_info)
  reward, mutual_info = _train_agents_predictor(spaces, informative=False)
  assert abs(reward) < 0.3 and abs(mutual_info) < 0.3, (reward, mutual_info)


def _hand_fed_intrinsic_reward(spaces, **overrides):
  """The intrinsic reward [horizon, 8] of the agent's skill objectives at debug sizes, with a
  predictor that says N(0, 0.5) whatever it sees, on 8 rollouts whose states equal the start
  states and that hold one random skill each; and the config."""
  from conftest import debug_config
  config = debug_config('lsp', **overrides)
  agent = lsp.make_agent(config, *spaces)
  agent._skill_pred = lambda inputs: tfd.Independent(tfd.Normal(
      tf.zeros(inputs.shape[:-1] + (config.skill_dim,)), 0.5), 1)
  tf.random.set_seed(0)
  rollouts, horizon = 8, config.horizon
  plan, start, states = _prior_plan_and_rollouts(agent, config, rollouts)
  skills = tf.repeat(tf.random.normal((1, rollouts, config.skill_dim)), horizon, axis=0)
  zeros = tf.zeros((horizon, rollouts))
  intrinsic, _, _ = agent._skill_objectives(
      plan, start, states, skills, agent._continuation(agent._dynamics.get_feat(states)), zeros,
      zeros)
  return intrinsic.numpy(), config


def test_centred_intrinsic_reward_is_shifted_by_its_mean(spaces):
  """intrinsic_center subtracts one number, the mean over the rewarded steps, and leaves the
  steps after the last whole window at 0."""
  rewards = {}
  for center in (False, True):
    rewards[center], config = _hand_fed_intrinsic_reward(
        spaces, intrinsic_per_step=True, intrinsic_center=center)
  window = lsp.skill_window(config)
  raw, centred = rewards[False][:window], rewards[True][:window]
  assert raw.std() > 0.1 and abs(raw.mean()) > 0.1
  np.testing.assert_allclose(centred.mean(), 0, atol=1e-5)
  np.testing.assert_allclose(centred, raw - raw.mean(), atol=1e-5)
  np.testing.assert_array_equal(rewards[True][window:], 0)


def test_intrinsic_reward_per_step_or_spread_over_the_window(spaces):
  """intrinsic_per_step gives every step of a skill window the window's log q; otherwise the
  window's log q is spread evenly over its steps. Steps after the last whole window get none."""
  rewards = {}
  for per_step in (True, False):
    rewards[per_step], config = _hand_fed_intrinsic_reward(spaces, intrinsic_per_step=per_step)
  window, horizon = lsp.skill_window(config), config.horizon
  assert horizon > window  # debug: K = 3, horizon 5: one whole window, two steps without.
  per_step, spread = rewards[True], rewards[False]
  np.testing.assert_allclose(per_step[:window], window * spread[:window], rtol=1e-5)
  np.testing.assert_allclose(per_step[:window], per_step[:1].repeat(window, 0))
  assert np.abs(per_step[0]).min() > 0.01
  np.testing.assert_array_equal(per_step[window:], 0)
  np.testing.assert_array_equal(spread[window:], 0)


def test_intrinsic_reward_on_the_partial_window_with_intrinsic_partial(spaces):
  """debug: K = 3, horizon 5. With intrinsic_partial the skill that starts at step 3, whose
  window the horizon cuts to 2 steps, is scored too; the whole window's rewards and the MI
  estimate (whole windows only) stay as they were."""
  rewards = {}
  for partial in (False, True):
    rewards[partial], config = _hand_fed_intrinsic_reward(
        spaces, intrinsic_per_step=True, intrinsic_partial=partial)
  window = lsp.skill_window(config)
  whole, cut = rewards[True][:window], rewards[True][window:]
  np.testing.assert_allclose(whole, rewards[False][:window], rtol=1e-5)
  np.testing.assert_array_equal(rewards[False][window:], 0)
  assert cut.shape[0] == config.horizon - window == 2
  assert np.abs(cut).min() > 0.01
  # The rollouts hold one skill throughout and the predictor ignores the states, so the cut
  # window's skill gets the same log q as the whole window's.
  np.testing.assert_allclose(cut, whole[:2], rtol=1e-5)


def test_skill_predictor_reads_the_window_masks_with_intrinsic_partial(spaces):
  """The predictor's input: (window + 1) states' features, and with intrinsic_partial which of
  them exist; with skill_pred_input_norm a layer norm first."""
  sizes = {}
  for partial in (False, True):
    _, agent = _first_update(spaces, intrinsic_partial=partial, skill_pred_input_norm=partial)
    config = agent._c
    feat_size = config.stoch_size + config.deter_size
    window = lsp.skill_window(config)
    names = [v.name for v in agent._skill_pred.trainable_variables]
    kernel = [v for v in agent._skill_pred.trainable_variables if 'kernel' in v.name][0]
    sizes[partial] = kernel.shape[0]
    assert any('gamma' in name for name in names) == partial, names
  assert sizes[False] == (window + 1) * feat_size
  assert sizes[True] == (window + 1) * (feat_size + 1)


def test_skill_predictor_std_stays_above_skill_pred_min_std(spaces):
  for min_std in (0.1, 0.5):
    _, agent = _first_update(spaces, skill_pred_min_std=min_std)
    config = agent._c
    size = (lsp.skill_window(config) + 1) * (config.stoch_size + config.deter_size)
    std = agent._skill_pred(100 * tf.random.normal((256, size))).distribution.stddev().numpy()
    assert std.min() >= min_std - 1e-5
    assert std.min() < min_std + 0.05  # Inputs this large push some stds to the clamp.


def _first_update(spaces, **overrides):
  """The metrics of an LSP agent's first update at debug sizes, seeded as train.py seeds."""
  import random
  from conftest import debug_config, random_batch
  config = debug_config('lsp', intrinsic_per_step=True, **overrides)
  random.seed(0)
  np.random.seed(0)
  tf.random.set_seed(0)
  agent = lsp.make_agent(config, *spaces)
  return {k: float(v) for k, v in agent.train(random_batch(config)).items()}, agent


def test_value_fits_the_task_return_alone_without_intrinsic_in_value(spaces):
  """The same first update with the intrinsic reward weighted 0 or 50: the actor's loss moves
  with it either way; the value's loss only when the value fits the intrinsic return too."""
  for in_value in (True, False):
    loss = {scale: _first_update(spaces, intrinsic_scale=scale, intrinsic_in_value=in_value)[0]
            for scale in (0.0, 50.0)}
    assert abs(loss[50.0]['actor_loss'] - loss[0.0]['actor_loss']) > 1.0
    moved = abs(loss[50.0]['value_loss'] - loss[0.0]['value_loss'])
    if in_value:
      assert moved > 1.0, loss
    else:
      assert moved < 1e-4 * abs(loss[0.0]['value_loss']) + 1e-6, loss


def test_value_sees_the_skill_with_value_skill_input(spaces):
  _, agent = _first_update(spaces, value_skill_input=True)
  config = agent._c
  feat = tf.random.normal((4, config.stoch_size + config.deter_size))
  kernel = agent._value.trainable_variables[0]
  assert kernel.shape[0] == feat.shape[-1] + config.skill_dim
  skills = tf.random.normal((2, 4, config.skill_dim))
  values = [agent._value(agent._value_input(feat, z)).mode().numpy() for z in skills]
  assert np.abs(values[0] - values[1]).max() > 1e-4
  _, dreamer_like = _first_update(spaces)
  assert dreamer_like._value.trainable_variables[0].shape[0] == feat.shape[-1]


def test_intrinsic_scale_adapts_towards_the_skill_mi_target(spaces):
  """With skill_mi_target_lr the weight is a Lagrange multiplier: one Adam step of size lr on
  its log, up while skill_mi is below the target, down while above; fixed without it."""
  for target, sign in ((100.0, 1), (-100.0, -1)):
    metrics, agent = _first_update(
        spaces, intrinsic_scale=2.0, skill_mi_target=target, skill_mi_target_lr=0.1)
    assert metrics['intrinsic_scale'] == pytest.approx(2.0)  # The update used the start value.
    assert float(agent.intrinsic_scale()) == pytest.approx(2.0 * math.exp(sign * 0.1), rel=1e-3)
    assert 'intrinsic_scale' in agent.modules() and 'intrinsic_scale' not in agent.networks()
  metrics, agent = _first_update(spaces, intrinsic_scale=2.0)
  assert agent.intrinsic_scale() == 2.0 and 'intrinsic_scale' not in agent.modules()


def _literal_agent(spaces, **overrides):
  """An lsp_literal agent at debug sizes with its variables created, and its config."""
  from conftest import debug_config, random_batch
  config = debug_config('lsp_literal', **overrides)
  tf.random.set_seed(0)
  agent = lsp.make_agent(config, *spaces)
  agent.train(random_batch(config))
  return agent, config


def _predictor_that_says(center, config):
  """A skill predictor that says N(center, 0.1) whatever it sees."""
  return lambda inputs: tfd.Independent(tfd.Normal(
      tf.broadcast_to(center, inputs.shape[:-1] + (config.skill_dim,)), 0.1), 1)


def test_cem_plans_towards_the_skills_the_predictor_recognises_with_cem_score_intrinsic(
    spaces, eager):
  """Algorithm 2 scores the CEM's candidates with the intrinsic reward of their imagined
  windows: with cem_score_intrinsic the plan moves to the skill the predictor recognises; without
  it, the predictor does not change the plan at all."""
  target = tf.constant([1.0, -1.0, 0.5])
  plans = {}
  for scored in (True, False):
    agent, config = _literal_agent(
        spaces, cem_score_intrinsic=scored, cem_population=64, cem_elites=8, cem_iters=4)
    for sign in (1, -1):
      agent._skill_pred = _predictor_that_says(sign * target, config)
      tf.random.set_seed(1)
      mean, _, _ = agent.cem(agent._dynamics.initial(4), groups=1)
      plans[scored, sign] = mean[0].numpy()  # [plan_length, skill_dim]
  np.testing.assert_array_equal(plans[False, 1], plans[False, -1])
  for sign in (1, -1):
    assert np.abs(plans[True, sign] - sign * target.numpy()).max() < 0.3, plans[True, sign]


def test_cem_scores_relative_targets_around_the_mean_being_optimised(spaces, eager, monkeypatch):
  """With skill_pred_relative the predictor reads a skill's offset from the mean of the
  distribution it was drawn from; inside the CEM that is the mean being optimised. A predictor
  that says offsets are near 0 scores candidates by their distance from that mean."""
  agent, config = _literal_agent(spaces, cem_score_intrinsic=True, skill_pred_relative=True)
  agent._skill_pred = _predictor_that_says(tf.zeros(config.skill_dim), config)
  scores = []
  plan = tf.zeros((1, agent.plan_length, config.skill_dim))
  monkeypatch.setattr(lsp, 'cem', lambda score, *args: scores.append(score) or (plan, plan, {}))
  agent.cem(agent._dynamics.initial(4), groups=1)
  # Candidates from the mean towards 0: the further from the mean, the lower their score (and
  # the nearer to 0, so that targets taken around 0 would order them the other way).
  mean = 2.0 + plan
  distances = tf.linspace(0.0, 1.0, config.cem_population)
  candidates = mean[:, None] - distances[None, :, None, None] * tf.ones(config.skill_dim)
  values = scores[0](candidates, mean)[0].numpy()
  assert (np.diff(values) < 0).all(), values
