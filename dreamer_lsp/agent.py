"""Dreamer (Hafner et al. 2019): a world model learned from replay, and an actor and value learned
in its imagination. Read top to bottom: networks, acting, the update (world model, then
behaviour), imagination and returns. LSP (lsp.py) extends it through the skill hooks at the end."""
import numpy as np
import tensorflow as tf
import tf_keras
from tensorflow_probability import distributions as tfd

import tools
from dreamer_lsp import models


class Dreamer(tools.Module):

  def __init__(self, config, obs_space, act_space):
    super().__init__()
    self._c = config
    self._obs_space = obs_space
    self._actdim = act_space.shape[0]
    self._pixels = 'image' in obs_space
    if config.precision == 16:
      tf_keras.mixed_precision.set_global_policy('mixed_float16')
    self._float = tf_keras.mixed_precision.global_policy().compute_dtype
    self.step = tf.Variable(0, dtype=tf.int64, trainable=False)
    self._build_model()
    self._variables_created = False
    self.compiled_train = tf.function(self._train, jit_compile=config.jit, autograph=False)
    # Tensors in, tensors out; `policy` is the numpy interface of the loop.
    self.act = tf.function(self._policy, jit_compile=config.jit_policy, autograph=False)

  def _build_model(self):
    c = self._c
    if self._pixels:
      self._encode = models.ConvEncoder(c.cnn_depth, c.cnn_act)
      self._decode = models.ConvDecoder(c.cnn_depth, c.cnn_act, self._obs_space['image'].shape)
    else:
      size = self._obs_space['vector'].shape[0]
      self._encode = models.MLPEncoder(c.mlp_layers, c.mlp_units, c.dense_act)
      self._decode = models.GaussianHead(
          size, c.mlp_layers, c.mlp_units, c.dense_act, c.obs_std_min, c.obs_std_max)
    self._dynamics = models.RSSM(c.stoch_size, c.deter_size, c.deter_size, c.dense_act)
    self._reward = models.DenseDecoder((), 2, c.num_units, act=c.dense_act)
    if c.pcont:
      self._pcont = models.DenseDecoder((), 3, c.num_units, 'binary', act=c.dense_act)
    self._value = models.DenseDecoder((), 3, c.num_units, act=c.dense_act)
    self._actor = models.ActionDecoder(
        self._actdim, 4, c.num_units, c.dense_act, init_std=c.action_init_std)
    self._model_modules = [self._encode, self._dynamics, self._decode, self._reward]
    if c.pcont:
      self._model_modules.append(self._pcont)
    self._model_opt = self._optimizer('model', c.model_lr)
    self._value_opt = self._optimizer('value', c.value_lr)
    self._actor_opt = self._optimizer('actor', c.actor_lr)

  def _optimizer(self, name, lr):
    c = self._c
    return tools.Optimizer(
        name, lr, c.grad_clip, c.weight_decay, c.adam_eps, mixed=c.precision == 16)

  def modules(self):
    """Everything a checkpoint holds, by name (networks, optimizers, the step)."""
    return dict(
        encoder=self._encode, decoder=self._decode, dynamics=self._dynamics,
        reward=self._reward, value=self._value, actor=self._actor,
        model_opt=self._model_opt, value_opt=self._value_opt, actor_opt=self._actor_opt,
        step=self.step, **({'pcont': self._pcont} if self._c.pcont else {}))

  def networks(self):
    """The networks a transfer run initialises from its source run."""
    return {k: v for k, v in self.modules().items()
            if not k.endswith('opt') and not isinstance(v, tf.Variable)}

  # Acting ----------------------------------------------------------------------------------------

  def policy(self, obs, reset, state, training):
    """Numpy in, numpy out: the action for each env, extra per-step arrays to store, new state."""
    obs = {k: v for k, v in obs.items() if k in self._obs_space}
    if state is None:
      state = self.initial_state(len(reset))
    reset = tf.constant(reset, tf.bool)
    action, extras, state = self.act(obs, reset, state, tf.constant(training))
    return action.numpy(), {k: v.numpy() for k, v in extras.items()}, state

  def initial_state(self, batch_size):
    """The policy's state: the posterior `latent` and the last `action` of each env."""
    return dict(
        latent=self._dynamics.initial(batch_size),
        action=tf.zeros((batch_size, self._actdim), self._float))

  def _policy(self, obs, reset, state, training):
    state = self._reset_state(state, reset)
    latent, feat = self._observe(obs, state)
    action, extras, state = self._act(feat, latent, state, training)
    action = self._exploration(action, training)
    return action, extras, dict(state, latent=latent, action=action)

  def _observe(self, obs, state):
    """The posterior latent state after `obs`, and its features."""
    embed = self._encode(self._preprocess(obs))
    latent, _ = self._dynamics.obs_step(state['latent'], state['action'], embed)
    return latent, self._dynamics.get_feat(latent)

  def _reset_state(self, state, reset):
    mask = tf.cast(tf.logical_not(reset), self._float)
    return tf.nest.map_structure(
        lambda x: x * tf.reshape(tf.cast(mask, x.dtype), [-1] + [1] * (len(x.shape) - 1)), state)

  def _act(self, feat, latent, state, training):
    dist = self._actor(feat)
    action = tf.cond(training, dist.sample, lambda: models.tanh_normal_mode(dist))
    return action, {}, state

  def _exploration(self, action, training):
    amount = tf.constant(self._c.expl_amount, tf.float32)
    if self._c.expl_decay:
      amount *= 0.5 ** (tf.cast(self.step, tf.float32) / self._c.expl_decay)
    amount = tf.maximum(self._c.expl_min, amount)
    amount = tf.where(training, amount, 0.0)
    noisy = tfd.Normal(tf.cast(action, tf.float32), amount).sample()
    return tf.clip_by_value(noisy, -1, 1)

  # The update ------------------------------------------------------------------------------------

  def train(self, data):
    """One update of every module on a batch; returns its metrics. The first update runs
    eagerly and creates the variables: a tf.function that creates variables is traced twice,
    which would double the start-up of every run."""
    if self._variables_created:
      return self.compiled_train(data)
    self._variables_created = True
    # Tensors, as the compiled update returns (a metric may be a Python number here).
    return {k: v if tf.is_tensor(v) else tf.constant(v, tf.float32)
            for k, v in self._train(data).items()}

  def _train(self, data):
    data = self._preprocess(data)
    post, metrics = self._train_model(data)
    start = {k: tf.stop_gradient(tf.reshape(v, [-1] + v.shape[2:].as_list()))
             for k, v in post.items()}
    metrics.update(self._train_behavior(start))
    return metrics

  def train_model(self, data):
    """The world-model update alone on a batch, as `train` does it first: its metrics."""
    return self._train_model(self._preprocess(data))[1]

  def _train_model(self, data):
    c = self._c
    obs_key = 'image' if self._pixels else 'vector'
    with tf.GradientTape() as tape:
      embed = self._encode(data)
      post, prior = self._dynamics.observe(embed, data['action'])
      feat = self._dynamics.get_feat(post)
      likes = {}
      likes['obs'] = tf.reduce_mean(self._decode(feat).log_prob(data[obs_key]))
      likes['reward'] = tf.reduce_mean(self._reward(feat).log_prob(data['reward']))
      if c.pcont:
        pcont_target = c.discount * data['discount']
        likes['pcont'] = c.pcont_scale * tf.reduce_mean(
            self._pcont(feat).log_prob(pcont_target))
      prior_dist = self._dynamics.get_dist(prior)
      post_dist = self._dynamics.get_dist(post)
      div = tf.reduce_mean(tfd.kl_divergence(post_dist, prior_dist))
      model_loss = c.kl_scale * tf.maximum(div, c.free_nats) - sum(likes.values())
    model_norm = self._model_opt(tape, model_loss, self._model_modules)
    metrics = {f'{k}_loss': -v for k, v in likes.items()}
    metrics.update(
        model_loss=model_loss, model_grad_norm=model_norm, div=div,
        prior_ent=tf.reduce_mean(prior_dist.entropy()),
        post_ent=tf.reduce_mean(post_dist.entropy()))
    return post, metrics

  def _train_behavior(self, start):
    plan, metrics = self._plan_skills(start)
    # One tape and one value forward for the actor and the value: the value loss takes no
    # gradient through the features, only into the value's weights.
    with tf.GradientTape(persistent=True) as tape:
      states, skills, actor_entropy = self.imagine(
          start, self._c.horizon, self._skill_chooser(plan))
      feat = self._dynamics.get_feat(states)
      task_reward = self._reward(feat).mode()
      value = self._value(self._value_input(feat, skills))
      pcont = self._continuation(feat)
      intrinsic, skill_losses, skill_metrics = self._skill_objectives(
          plan, start, states, skills, pcont, value.mode(), task_reward)
      returns, discount = self._returns(pcont, value.mode(), task_reward + intrinsic)
      actor_loss = -tf.reduce_mean(discount * returns)
      targets = self._value_targets(pcont, value.mode(), task_reward, returns)
      value_loss = -tf.reduce_mean(discount * value[:-1].log_prob(tf.stop_gradient(targets)))
    metrics.update(skill_metrics)
    metrics.update(
        actor_loss=actor_loss, value_loss=value_loss, task_reward=tf.reduce_mean(task_reward),
        returns=tf.reduce_mean(returns), actor_base_ent=tf.reduce_mean(actor_entropy))
    if self._c.train_actor:
      metrics['actor_grad_norm'] = self._actor_opt(tape, actor_loss, [self._actor])
    metrics['value_grad_norm'] = self._value_opt(tape, value_loss, [self._value])
    metrics.update(self._train_skills(tape, skill_losses))
    del tape
    return metrics

  # Imagination and returns -----------------------------------------------------------------------

  def imagine(self, start, horizon, choose_skill=None):
    """Rolls the actor forward in the latent dynamics: states [H, N, ...] after each action,
    the skills held [H, N, skill_dim] (None without skills) and the entropy of each action's
    distribution before the tanh [H, N].

    `choose_skill(state, segment)` gives the skill held for the next skill_duration steps
    (None for Dreamer, whose actor sees no skill)."""
    state, skill = start, None
    states, skills, entropies = [], [], []
    for t in range(horizon):
      if choose_skill is not None and t % self._c.skill_duration == 0:
        skill = choose_skill(state, t // self._c.skill_duration)
      feat = tf.stop_gradient(self._dynamics.get_feat(state))
      dist = self._actor(self._actor_input(feat, skill))
      state = self._dynamics.img_step(state, dist.sample())
      states.append(state)
      skills.append(skill)
      entropies.append(models.base_entropy(dist))
    states = {k: tf.stack([s[k] for s in states], 0) for k in start}
    skills = None if skill is None else tf.stack(skills, 0)
    return states, skills, tf.stack(entropies, 0)

  def _continuation(self, feat):
    """The discount of each imagined step [H, N] from its features [H, N, F]: the pcont head's
    continuation probability, or `discount`."""
    if self._c.pcont:
      return self._pcont(feat).mean()
    return self._c.discount * tf.ones(tf.shape(feat)[:-1], tf.float32)

  def _returns(self, pcont, value, reward):
    """lambda-returns [H-1, N] of imagined steps with their discounts, values and rewards
    [H, N], and the discount weights [H-1, N]."""
    returns = tools.lambda_return(
        reward[:-1], value[:-1], pcont[:-1], bootstrap=value[-1], lambda_=self._c.disclam,
        axis=0)
    discount = tf.stop_gradient(tf.math.cumprod(
        tf.concat([tf.ones_like(pcont[:1]), pcont[:-2]], 0), 0))
    return returns, discount

  def _preprocess(self, obs):
    obs = dict(obs)
    if 'image' in obs:
      obs['image'] = tf.cast(obs['image'], self._float) / 255.0 - 0.5
    if 'vector' in obs:
      obs['vector'] = tf.cast(obs['vector'], tf.float32)
    return obs

  # Skill hooks: Dreamer has no skills; LSP (lsp.py) overrides these. ---------------------------

  def _actor_input(self, feat, skill):
    return feat

  def _value_input(self, feat, skills):
    return feat

  def _value_targets(self, pcont, value, task_reward, returns):
    """What the value fits: the lambda-returns the actor maximises."""
    return returns

  def _plan_skills(self, start):
    """The skill distribution for this update's imagination, and metrics."""
    return None, {}

  def _skill_chooser(self, plan):
    """None, or `choose(state, segment) -> skill` for the imagination."""
    return None

  def _skill_objectives(self, plan, start, states, skills, pcont, value, task_reward):
    """Intrinsic reward [H, N], losses of the skill modules, metrics."""
    return 0.0, {}, {}

  def _train_skills(self, tape, losses):
    return {}


def random_policy(act_space, seed):
  """Uniform random actions, for prefilling the replay."""
  rng = np.random.RandomState(seed)

  def policy(obs, reset, state):
    return rng.uniform(-1, 1, (len(reset),) + act_space.shape).astype(np.float32), {}, None

  return policy
