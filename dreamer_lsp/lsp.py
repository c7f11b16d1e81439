"""Latent Skill Planning (Xie et al. 2021) as an extension of Dreamer.

The actor becomes q(a | s, z) with a skill z held for K = skill_duration steps. Skills come from
  - `cem`: a Gaussian over the skill plan z_{1:ceil(H/K)} optimised by CEM (Algorithm 2) on
    value estimates of imagined rollouts, plus N(0, skill_noise) on its mean (Sec. 3.2) in the
    imagination and N(0, act_skill_noise) when acting;
  - `random`: N(0, I) (the Random Skills and RandSkillsInp baselines);
  - `policy`: an amortized high-level skill policy trained on task returns (the HIRO baseline).
Each is a small class below (`Planner`, `RandomSkills`, `SkillPolicy`), chosen by name. A
backward skill predictor q(z | {s}, s0) gives the intrinsic reward log q (Sec. 3.2), which is
added to the task reward with weight intrinsic_scale (fixed, or adapted towards a target
skill_mi with skill_mi_target_lr). Acting is MPC in skill space: every K
steps the skill is re-planned from the current posterior state.

Read top to bottom, `LSP` is Algorithm 1 (its model learning is Dreamer's `_train_model`, and
Dreamer's `_train_behavior` calls the hooks below in this order), and `LSP.cem` with `cem` is
Algorithm 2.
"""
import math

import tensorflow as tf
from tensorflow_probability import distributions as tfd

import tools
from dreamer_lsp import agent
from dreamer_lsp import models


class LSP(agent.Dreamer):

  def __init__(self, config, obs_space, act_space):
    super().__init__(config, obs_space, act_space)
    self.act_with_skill = tf.function(self._act_with_skill, autograph=False)

  def _build_model(self):
    super()._build_model()
    c = self._c
    self._skill_pred = models.GaussianHead(
        c.skill_dim, c.mlp_layers, c.mlp_units, c.dense_act, c.skill_pred_min_std,
        c.obs_std_max, c.skill_pred_input_norm)
    self._skill_pred_opt = self._optimizer('skill_pred', c.skill_pred_lr)
    self._skills = SKILLS[c.skills](self)
    if c.skill_mi_target_lr:
      # A Lagrange multiplier on skill_mi >= skill_mi_target, adapted as SAC adapts its
      # temperature: the weight grows while the skills are less informative than the target.
      self._log_intrinsic_scale = tf.Variable(math.log(c.intrinsic_scale), dtype=tf.float32)
      self._intrinsic_scale_opt = tools.Optimizer(
          'intrinsic_scale', c.skill_mi_target_lr, eps=c.adam_eps)

  def modules(self):
    modules = super().modules()
    modules.update(skill_pred=self._skill_pred, skill_pred_opt=self._skill_pred_opt)
    modules.update(self._skills.modules())
    if self._c.skill_mi_target_lr:
      modules.update(intrinsic_scale=self._log_intrinsic_scale,
                     intrinsic_scale_opt=self._intrinsic_scale_opt)
    return modules

  def intrinsic_scale(self):
    if self._c.skill_mi_target_lr:
      return tf.exp(self._log_intrinsic_scale)
    return self._c.intrinsic_scale

  @property
  def plan_length(self):
    return math.ceil(self._c.plan_horizon / self._c.skill_duration)

  # Algorithm 1, behaviour learning -------------------------------------------------------------

  def _plan_skills(self, start):
    """zeta = (mu, Sigma) <- CEM(S, ...), mu <- mu + epsilon: the skill distribution of this
    update's imagination (None for the skill policy, which has none), and metrics."""
    return self._skills.plan(start)

  def _skill_chooser(self, plan):
    """Imagined rollouts draw a skill from zeta (or the skill policy) every K steps."""
    return lambda state, segment: self._skills.choose(plan, state, segment)

  def _actor_input(self, feat, skill):
    return tf.concat([feat, tf.cast(skill, feat.dtype)], -1)

  def _value_input(self, feat, skills):
    """v(s) as in the paper, or with `value_skill_input` v(s, z): the intrinsic return of a
    window depends on its skill, which the state alone does not tell."""
    return self._actor_input(feat, skills) if self._c.value_skill_input else feat

  def _value_targets(self, pcont, value, task_reward, returns):
    """With `intrinsic_in_value: false` the value fits the task's lambda-return alone; the
    actor still maximises the return with the intrinsic rewards, which lie inside the
    imagined horizon, bootstrapped from that task value."""
    if self._c.intrinsic_in_value:
      return returns
    return self._returns(pcont, value, task_reward)[0]

  def _skill_objectives(self, plan, start, states, skills, pcont, value, task_reward):
    """The intrinsic rewards r_i from the K-sized sequences of states, the skill predictor's
    (chi's) loss, and the skill policy's, if any."""
    c = self._c
    inputs, masks, chosen, whole = self._skill_segments(start, states, skills, skill_window(c))
    centers, entropies = self._skill_distributions(plan, start, states, chosen.shape[0])
    targets = self._skill_targets(chosen, centers)
    logprob = self._skill_logprob(inputs, masks, targets)
    # Sec. 3.2's lower bound E[log q(z | {s}, s0)] + H[p(z | s0)], in nats: 0 when the predictor
    # knows no more about a skill than the distribution it was drawn from. Whole windows only,
    # so that it means the same with and without `intrinsic_partial`.
    mutual_info = tf.reduce_mean(logprob[:whole]) + tf.reduce_mean(entropies[:whole])
    pred_logprob = self._skill_logprob(tf.stop_gradient(inputs), masks, targets)
    losses = {'skill_pred': -tf.reduce_mean(pred_logprob)}
    intrinsic, intrinsic_mean = self._intrinsic_reward(logprob, targets, task_reward.shape[0])
    losses.update(self._skills.losses(pcont, value, task_reward))
    if c.skill_mi_target_lr:
      losses['intrinsic_scale'] = self._log_intrinsic_scale * tf.stop_gradient(
          tf.cast(mutual_info, tf.float32) - c.skill_mi_target)
    metrics = dict(
        intrinsic_reward=intrinsic_mean, intrinsic_scale=self.intrinsic_scale(),
        skill_pred_loss=losses['skill_pred'], skill_pred_logprob=tf.reduce_mean(pred_logprob),
        skill_mi=mutual_info,
        skill_spread=tf.reduce_mean(tf.math.reduce_std(chosen, axis=1)))
    return intrinsic, losses, metrics

  def _skill_targets(self, chosen, centers):
    """What the predictor predicts of each window: its skill [segments, N, skill_dim], or with
    `skill_pred_relative` the skill's offset from the mean of the distribution it was drawn
    from. That distribution is a function of s0 (the CEM's, from the start states), so the
    predictor need not track its mean as it moves from update to update."""
    return chosen - centers if self._c.skill_pred_relative else chosen

  def _skill_logprob(self, inputs, masks, targets):
    """log q(z | {s}, s0) [segments, N] of each window's target under the skill predictor, with
    Gaussian noise on its input (A.7)."""
    c = self._c
    inputs += c.skill_pred_noise * tf.random.normal(tf.shape(inputs), dtype=inputs.dtype)
    if masks is not None:
      inputs = tf.concat([inputs, masks], -1)
    return self._skill_pred(inputs).log_prob(targets)

  def _intrinsic_reward(self, logprob, targets, horizon):
    """The intrinsic reward [horizon, N] of each imagined step from its window's log q
    [segments, N], and its mean per window (the `intrinsic_reward` metric). Shared by the
    behaviour's imagination and, with `cem_score_intrinsic`, the CEM's scores."""
    c = self._c
    if c.intrinsic_baseline:
      # log N(z; 0, I) depends on z alone, so the actor's gradient through the dynamics is
      # unchanged; it centres the reward near 0 when skills can't be told apart, which keeps
      # the value targets from drifting by -(skill_dim / 2) log(2 pi e) per skill.
      logprob -= tfd.Independent(tfd.Normal(tf.zeros_like(targets), 1.0), 1).log_prob(targets)
    # Algorithm 2 computes an intrinsic reward at every imagined step: each step of a skill
    # gets its window's log q; or the window's log q is spread evenly over the skill's steps.
    scale = self.intrinsic_scale()
    skill_steps = min(c.skill_duration, horizon)
    per_step = scale * logprob / (1 if c.intrinsic_per_step else skill_steps)
    if c.intrinsic_center:
      # A constant shift of every rewarded step leaves the actor's gradient through the
      # dynamics unchanged, and keeps the value targets at the task's scale while log q moves.
      per_step -= tf.stop_gradient(tf.reduce_mean(per_step))
    # Each skill's reward over its steps; a skill the horizon cuts short has only the rest.
    lengths = [min(c.skill_duration, horizon - segment * c.skill_duration)
               for segment in range(per_step.shape[0])]
    intrinsic = tf.concat([
        tf.repeat(per_step, lengths, axis=0),
        tf.zeros([horizon - sum(lengths)] + per_step.shape[1:].as_list())], 0)
    return intrinsic, scale * tf.reduce_mean(logprob)

  def _skill_segments(self, start, states, skills, window):
    """Predictor inputs [segments, N, (window + 1) * F]: the state a skill starts from and the
    `window` states it leads to; targets [segments, N, skill_dim]; how many segments are whole
    windows; and with `intrinsic_partial` masks [segments, N, window + 1] of which of those
    states exist (else None). With it the window the horizon cuts short follows, zero-padded;
    otherwise only whole windows count."""
    c = self._c
    feat = tf.concat(
        [self._dynamics.get_feat(start)[None], self._dynamics.get_feat(states)], 0)
    horizon = skills.shape[0]
    whole = (horizon - window) // c.skill_duration + 1
    count = -(-horizon // c.skill_duration) if c.intrinsic_partial else whole
    inputs, masks, targets = [], [], []
    for segment in range(count):
      begin = segment * c.skill_duration
      window_feat = feat[begin:begin + window + 1]
      missing = window + 1 - window_feat.shape[0]
      if missing:
        window_feat = tf.pad(window_feat, [[0, missing], [0, 0], [0, 0]])
      inputs.append(tf.concat(tf.unstack(window_feat, axis=0), -1))
      masks.append([1.0] * (window + 1 - missing) + [0.0] * missing)
      targets.append(tf.stop_gradient(skills[begin]))
    inputs = tf.stack(inputs, 0)
    if c.intrinsic_partial:
      masks = tf.broadcast_to(tf.constant(masks, inputs.dtype)[:, None],
                              [count, inputs.shape[1], window + 1])
    else:
      masks = None
    return inputs, masks, tf.stack(targets, 0), whole

  def _skill_distributions(self, plan, start, states, segments):
    """The means [segments, N or 1, skill_dim] of the distributions that the first `segments`
    skills of the imagination were drawn from, and their entropies [segments]."""
    means, entropies = [], []
    for segment in range(segments):
      step = segment * self._c.skill_duration
      state = start if step == 0 else {k: v[step - 1] for k, v in states.items()}
      mean, entropy = self._skills.distribution(plan, state, segment)
      means.append(mean)
      entropies.append(entropy)
    return tf.stop_gradient(tf.stack(means)), tf.stack(entropies)

  def _train_skills(self, tape, losses):
    """Updates chi, and the skill policy where there is one."""
    metrics = {'skill_pred_grad_norm': self._skill_pred_opt(
        tape, losses['skill_pred'], [self._skill_pred])}
    metrics.update(self._skills.train(tape, losses))
    if self._c.skill_mi_target_lr:
      self._intrinsic_scale_opt(tape, losses['intrinsic_scale'], [self._log_intrinsic_scale])
    return metrics

  # Algorithm 1, environment interaction: MPC in skill space, a new skill every K steps ------

  def initial_state(self, batch_size):
    """Dreamer's, and the `skill` each env holds and the steps `count` since it started."""
    return dict(
        super().initial_state(batch_size),
        skill=tf.zeros((batch_size, self._c.skill_dim), tf.float32),
        count=tf.zeros((batch_size,), tf.int32))

  def _act(self, feat, latent, state, training):
    replan = tf.equal(state['count'] % self._c.skill_duration, 0)
    new_skill = tf.cond(
        tf.reduce_any(replan), lambda: self._skills.act(feat, latent, training),
        lambda: state['skill'])
    skill = tf.where(replan[:, None], new_skill, state['skill'])
    dist = self._actor(self._actor_input(feat, skill))
    action = tf.cond(training, dist.sample, lambda: models.tanh_normal_mode(dist))
    extras = {'skill': skill, 'skill_switch': replan}
    return action, extras, dict(state, skill=skill, count=state['count'] + 1)

  def _act_with_skill(self, obs, state, skill, sample):
    """Tensors in, out: the actions under the given skills [N, skill_dim] on the posterior
    state, the actor's mode (or, with `sample`, a sample) without exploration noise as in
    evaluation; the model features, and the new state. For showing what a skill does."""
    latent, feat = self._observe(obs, state)
    dist = self._actor(self._actor_input(feat, skill))
    action = tf.cast(dist.sample() if sample else models.tanh_normal_mode(dist), tf.float32)
    return action, feat, dict(state, latent=latent, action=action)

  # Algorithm 2: the CEM over skill plans -------------------------------------------------------

  def cem(self, start, groups):
    """CEM over skill plans from `start`, which holds `groups` x S start states (group-major).
    A candidate's score is the mean over its group's S start states of the lambda-return of its
    imagined rollout: of the task reward, and with `cem_score_intrinsic` of the intrinsic reward
    too (Algorithm 2 computes r_i at every imagined step; Algorithm 1 forms value estimates from
    R + r_i). All candidates and start states run as one batched imagination."""
    c = self._c
    starts = start['deter'].shape[0] // groups
    tiled = {
        k: tf.reshape(
            tf.repeat(tf.reshape(v, [groups, 1, starts] + v.shape[1:].as_list()),
                      c.cem_population, axis=1),
            [groups * c.cem_population * starts] + v.shape[1:].as_list())
        for k, v in start.items()}

    def rows(plans):  # [groups, population, ...] -> one row per candidate and start state.
      return tf.reshape(tf.repeat(plans[:, :, None], starts, axis=2),
                        [-1] + plans.shape[2:].as_list())

    def score(candidates, mean):
      skills = rows(candidates)
      states, held, _ = self.imagine(
          tiled, c.plan_horizon,
          lambda state, segment: skills[:, min(segment, self.plan_length - 1)])
      feat = self._dynamics.get_feat(states)
      value = self._value(self._value_input(feat, held)).mode()
      pcont = self._continuation(feat)
      reward = self._reward(feat).mode()
      if c.cem_score_intrinsic:
        inputs, masks, chosen, _ = self._skill_segments(tiled, states, held, skill_window(c))
        # Each candidate was drawn from the distribution being optimised, N(mean, std).
        means = rows(tf.repeat(mean[:, None], c.cem_population, axis=1))
        centers = tf.stack([
            means[:, min(segment, self.plan_length - 1)] for segment in range(chosen.shape[0])])
        targets = self._skill_targets(chosen, centers)
        logprob = self._skill_logprob(inputs, masks, targets)
        reward += self._intrinsic_reward(logprob, targets, c.plan_horizon)[0]
      returns, _ = self._returns(pcont, value, reward)
      return tf.reduce_mean(tf.reshape(returns[0], (groups, c.cem_population, starts)), -1)

    mean, std, metrics = cem(
        score, groups, self.plan_length, c.skill_dim, c.cem_population, c.cem_elites,
        c.cem_iters)
    return tf.stop_gradient(mean), tf.stop_gradient(std), metrics


def cem(score, groups, plan, dim, population, elites, iterations):
  """Algorithm 2's loop: sample `population` plans [groups, population, plan, dim] from
  N(mean, std), starting at N(0, I); refit mean and std to the top `elites` by `score` (which
  maps the plans and the mean they were drawn around to [groups, population] values). Returns
  mean, std [groups, plan, dim] and the elites' mean value and std per iteration."""
  mean = tf.zeros((groups, plan, dim))
  std = tf.ones((groups, plan, dim))
  metrics = {}
  for iteration in range(iterations):
    candidates = mean[:, None] + std[:, None] * tf.random.normal((groups, population, plan, dim))
    elite = tf.math.top_k(score(candidates, mean), elites)
    chosen = tf.gather(candidates, elite.indices, batch_dims=1)
    mean, variance = tf.nn.moments(chosen, axes=[1])
    std = tf.sqrt(variance + 1e-8)
    metrics[f'cem_elite_value_{iteration}'] = tf.reduce_mean(elite.values)
    metrics[f'cem_std_{iteration}'] = tf.reduce_mean(std)
  return mean, std, metrics


# Skill sources, chosen by `skills:` -----------------------------------------------------------
#
# plan(start) -> (plan, metrics): the skill distribution of an update's imagination;
# choose(plan, state, segment) -> skill: the skill of an imagined segment;
# distribution(plan, state, segment) -> (mean, entropy) of what that skill was drawn from;
# act(feat, latent, training) -> skill: the skill when acting, every K steps;
# losses, train, modules: a source's own networks (the skill policy's).

class RandomSkills(tf.Module):
  """`skills: random`: z ~ N(0, I) for every segment, imagined and acted (Random Skills and
  RandSkillsInp); the base of the planner, whose plan is a Gaussian per segment as well."""

  def __init__(self, lsp):
    super().__init__()
    self._lsp = lsp
    self._c = lsp._c

  def modules(self):
    return {}

  def plan(self, start):
    shape = (self._lsp.plan_length, self._c.skill_dim)
    return (tf.zeros(shape), tf.ones(shape)), {}

  def choose(self, plan, state, segment):
    mean, std = plan
    index = min(segment, self._lsp.plan_length - 1)
    noise = tf.random.normal((tf.shape(state['deter'])[0], self._c.skill_dim))
    return tf.stop_gradient(mean[index] + std[index] * noise)

  def distribution(self, plan, state, segment):
    index = min(segment, self._lsp.plan_length - 1)
    return plan[0][index][None], tf.reduce_sum(_gaussian_entropy(plan[1][index]))

  def act(self, feat, latent, training):
    return tf.random.normal((tf.shape(feat)[0], self._c.skill_dim))

  def losses(self, pcont, value, task_reward):
    return {}

  def train(self, tape, losses):
    return {}


class Planner(RandomSkills):
  """`skills: cem`, LSP: the CEM's skill distribution plus N(0, skill_noise) on its mean in the
  imagination (Algorithm 1), and MPC with N(0, act_skill_noise) on its mean when acting."""

  def plan(self, start):
    c = self._c
    count = start['deter'].shape[0]
    # 0: every start state of the batch (Algorithm 2 imagines from each s_t of S).
    subset = tf.random.shuffle(tf.range(count))[:min(c.cem_train_starts or count, count)]
    mean, std, metrics = self._lsp.cem(
        {k: tf.gather(v, subset) for k, v in start.items()}, groups=1)
    mean, std = mean[0], std[0]
    if c.skill_noise_per_rollout:
      # mean + N(0, skill_noise) drawn for each rollout, then + std * N(0, I): one Gaussian.
      std = tf.sqrt(std ** 2 + c.skill_noise ** 2)
    else:
      mean += c.skill_noise * tf.random.normal(mean.shape)  # One draw for the whole update.
    metrics['skill_entropy'] = tf.reduce_sum(_gaussian_entropy(std))
    return (mean, std), metrics

  def act(self, feat, latent, training):
    """Every env plans from its own posterior state; the first skill of its plan."""
    mean, std, _ = self._lsp.cem(latent, groups=latent['deter'].shape[0])
    mean, std = mean[:, 0], std[:, 0]
    noisy = mean + self._c.act_skill_noise * tf.random.normal(tf.shape(mean))
    sample = noisy + std * tf.random.normal(tf.shape(mean))
    return tf.where(training, sample, mean)


class SkillPolicy(tf.Module):
  """`skills: policy`, the HIRO-style baseline: an amortized Gaussian skill policy pi(z | s),
  queried every K steps and trained by back-propagating the lambda-return of the task reward."""

  def __init__(self, lsp):
    super().__init__()
    self._lsp = lsp
    c = self._c = lsp._c
    self._policy = models.GaussianHead(
        c.skill_dim, 2, c.num_units, c.dense_act, c.obs_std_min, c.obs_std_max)
    self._opt = lsp._optimizer('skill_policy', c.highlevel_lr)

  def modules(self):
    return dict(skill_policy=self._policy, skill_policy_opt=self._opt)

  def plan(self, start):
    return None, {}

  def choose(self, plan, state, segment):
    return self._dist(state).sample()

  def distribution(self, plan, state, segment):
    dist = self._dist(state)
    return dist.mean(), tf.reduce_mean(dist.entropy())

  def act(self, feat, latent, training):
    dist = self._policy(tf.stop_gradient(feat))
    return tf.where(training, dist.sample(), dist.mean())

  def losses(self, pcont, value, task_reward):
    returns, discount = self._lsp._returns(pcont, value, task_reward)
    return {'skill_policy': -tf.reduce_mean(discount * returns)}

  def train(self, tape, losses):
    return {'skill_policy_grad_norm': self._opt(tape, losses['skill_policy'], [self._policy])}

  def _dist(self, state):
    return self._policy(tf.stop_gradient(self._lsp._dynamics.get_feat(state)))


SKILLS = {'cem': Planner, 'random': RandomSkills, 'policy': SkillPolicy}


def make_agent(config, obs_space, act_space):
  """Dreamer for `skills: none`, else LSP with the skill source of that name."""
  cls = agent.Dreamer if config.skills == 'none' else LSP
  return cls(config, obs_space, act_space)


def _gaussian_entropy(std):
  return tf.math.log(std) + 0.5 * math.log(2 * math.pi * math.e)


def skill_window(config):
  """How many states after its start the skill predictor reads: a skill's whole duration, or
  the imagination horizon when that is shorter. Takes a Config or a saved config's dict."""
  return min(config['skill_duration'], config['horizon'])
