"""Networks: the RSSM, encoders and decoders (conv for pixels, MLP for features), dense heads,
the tanh-Normal actor, and the Gaussian heads used for skills (skill predictor, skill policy)."""
import numpy as np
import tensorflow as tf
import tf_keras
from tensorflow_probability import bijectors as tfb
from tensorflow_probability import distributions as tfd

import tools

tfkl = tf_keras.layers


def _act(name):
  return getattr(tf.nn, name)


def _float():
  return tf_keras.mixed_precision.global_policy().compute_dtype


def _mlp(module, x, layers, units, act, outputs):
  """Dense layers over the last axis of x [..., F] -> [..., outputs]. They run on x flattened
  to 2-D, where TF fuses each matmul with its bias and activation (Keras' Dense on a 3-D input
  makes a tensordot that it can't fuse)."""
  shape = tf.concat([tf.shape(x)[:-1], [outputs]], 0)
  x = tf.reshape(x, [-1, x.shape[-1]])
  for index in range(layers):
    x = module.get(f'h{index}', tfkl.Dense, units, act)(x)
  return tf.reshape(module.get('hout', tfkl.Dense, outputs)(x), shape)


class RSSM(tools.Module):
  """Recurrent state-space model: deterministic GRU state and diagonal Gaussian stochastic state."""

  def __init__(self, stoch=30, deter=200, hidden=200, act='elu'):
    super().__init__()
    self._activation = _act(act)
    self._stoch_size = stoch
    self._deter_size = deter
    self._hidden_size = hidden
    self._cell = tfkl.GRUCell(self._deter_size)

  def initial(self, batch_size):
    dtype = _float()
    return dict(
        mean=tf.zeros([batch_size, self._stoch_size], dtype),
        std=tf.zeros([batch_size, self._stoch_size], dtype),
        stoch=tf.zeros([batch_size, self._stoch_size], dtype),
        deter=self._cell.get_initial_state(None, batch_size, dtype))

  def observe(self, embed, action, state=None):
    """Posterior and prior states of a sequence, batch-major [B, T, ...]."""
    swap = lambda x: tf.transpose(x, [1, 0] + list(range(2, len(x.shape))))
    if state is None:
      state = self.initial(tf.shape(action)[0])
    embed, action = swap(embed), swap(action)
    post, prior = tools.static_scan(
        lambda prev, inputs: self.obs_step(prev[0], *inputs),
        (action, embed), (state, state))
    post = {k: swap(v) for k, v in post.items()}
    prior = {k: swap(v) for k, v in prior.items()}
    return post, prior

  def get_feat(self, state):
    return tf.concat([state['stoch'], state['deter']], -1)

  def get_dist(self, state):
    return tfd.MultivariateNormalDiag(
        tf.cast(state['mean'], tf.float32), tf.cast(state['std'], tf.float32))

  def obs_step(self, prev_state, prev_action, embed):
    prior = self.img_step(prev_state, prev_action)
    x = tf.concat([prior['deter'], embed], -1)
    x = self.get('obs1', tfkl.Dense, self._hidden_size, self._activation)(x)
    x = self.get('obs2', tfkl.Dense, 2 * self._stoch_size, None)(x)
    mean, std = tf.split(x, 2, -1)
    std = tf.nn.softplus(std) + 0.1
    stoch = self._sample(mean, std)
    post = {'mean': mean, 'std': std, 'stoch': stoch, 'deter': prior['deter']}
    return post, prior

  def img_step(self, prev_state, prev_action):
    x = tf.concat([prev_state['stoch'], tf.cast(prev_action, prev_state['stoch'].dtype)], -1)
    x = self.get('img1', tfkl.Dense, self._hidden_size, self._activation)(x)
    x, deter = self._cell(x, [prev_state['deter']])
    deter = deter[0]
    x = self.get('img2', tfkl.Dense, self._hidden_size, self._activation)(x)
    x = self.get('img3', tfkl.Dense, 2 * self._stoch_size, None)(x)
    mean, std = tf.split(x, 2, -1)
    std = tf.nn.softplus(std) + 0.1
    stoch = self._sample(mean, std)
    return {'mean': mean, 'std': std, 'stoch': stoch, 'deter': deter}

  def _sample(self, mean, std):
    return mean + std * tf.random.normal(tf.shape(mean), dtype=mean.dtype)


class ConvEncoder(tools.Module):

  def __init__(self, depth=32, act='relu'):
    super().__init__()
    self._act = _act(act)
    self._depth = depth

  def __call__(self, obs):
    kwargs = dict(strides=2, activation=self._act)
    x = tf.reshape(obs['image'], (-1,) + tuple(obs['image'].shape[-3:]))
    x = self.get('h1', tfkl.Conv2D, 1 * self._depth, 4, **kwargs)(x)
    x = self.get('h2', tfkl.Conv2D, 2 * self._depth, 4, **kwargs)(x)
    x = self.get('h3', tfkl.Conv2D, 4 * self._depth, 4, **kwargs)(x)
    x = self.get('h4', tfkl.Conv2D, 8 * self._depth, 4, **kwargs)(x)
    shape = tf.concat([tf.shape(obs['image'])[:-3], [32 * self._depth]], 0)
    return tf.reshape(x, shape)


class ConvDecoder(tools.Module):

  def __init__(self, depth=32, act='relu', shape=(64, 64, 3)):
    super().__init__()
    self._act = _act(act)
    self._depth = depth
    self._shape = shape

  def __call__(self, features):
    kwargs = dict(strides=2, activation=self._act)
    x = self.get('h1', tfkl.Dense, 32 * self._depth, None)(features)
    x = tf.reshape(x, [-1, 1, 1, 32 * self._depth])
    x = self.get('h2', tfkl.Conv2DTranspose, 4 * self._depth, 5, **kwargs)(x)
    x = self.get('h3', tfkl.Conv2DTranspose, 2 * self._depth, 5, **kwargs)(x)
    x = self.get('h4', tfkl.Conv2DTranspose, 1 * self._depth, 6, **kwargs)(x)
    x = self.get('h5', tfkl.Conv2DTranspose, self._shape[-1], 6, strides=2)(x)
    mean = tf.reshape(x, tf.concat([tf.shape(features)[:-1], self._shape], 0))
    return tfd.Independent(tfd.Normal(tf.cast(mean, tf.float32), 1), len(self._shape))


class MLPEncoder(tools.Module):
  """Feature encoder (A.3: the conv encoder becomes a 2-layer MLP of 256 ELU units)."""

  def __init__(self, layers=2, units=256, act='elu'):
    super().__init__()
    self._layers = layers
    self._units = units
    self._act = _act(act)

  def __call__(self, obs):
    x = tf.cast(obs['vector'], _float())
    for index in range(self._layers):
      x = self.get(f'h{index}', tfkl.Dense, self._units, self._act)(x)
    return x


class GaussianHead(tools.Module):
  """MLP to a diagonal Gaussian whose std is softly clamped to [min_std, max_std] (Chua et al.).

  The two softplus clamps make std = min_std + exp(l) with l softly below log(max_std), so the
  std lies in (min_std, min_std + max_std): the upper bound is soft, as in Chua et al.
  The feature decoder p(vector | s) (A.3) and the backward skill predictor q(z | {s}, s0), which
  shares its architecture, are both this."""

  def __init__(self, size, layers=2, units=256, act='elu', min_std=0.1, max_std=1.5,
               input_norm=False):
    super().__init__()
    self._size = size
    self._input_norm = input_norm
    self._layers = layers
    self._units = units
    self._act = _act(act)
    self._min_logstd = float(np.log(min_std))
    self._max_logstd = float(np.log(max_std))

  def __call__(self, features):
    if self._input_norm:
      features = self.get('norm', tfkl.LayerNormalization)(features)
    x = tf.cast(_mlp(self, features, self._layers, self._units, self._act, 2 * self._size),
                tf.float32)
    mean, logstd = tf.split(x, 2, -1)
    logstd = self._max_logstd - tf.nn.softplus(self._max_logstd - logstd)
    logstd = self._min_logstd + tf.nn.softplus(logstd - self._min_logstd)
    return tfd.Independent(tfd.Normal(mean, tf.exp(logstd)), 1)


class DenseDecoder(tools.Module):
  """Reward, value and continuation heads: unit-variance Normal or Bernoulli."""

  def __init__(self, shape, layers, units, dist='normal', act='elu'):
    super().__init__()
    self._shape = shape
    self._layers = layers
    self._units = units
    self._dist = dist
    self._act = _act(act)

  def __call__(self, features):
    size = int(np.prod(self._shape))
    x = _mlp(self, features, self._layers, self._units, self._act, size)
    x = tf.cast(tf.reshape(x, tf.concat([tf.shape(features)[:-1], self._shape], 0)), tf.float32)
    if self._dist == 'normal':
      return tfd.Independent(tfd.Normal(x, 1), len(self._shape))
    if self._dist == 'binary':
      return tfd.Independent(tfd.Bernoulli(x), len(self._shape))
    raise NotImplementedError(self._dist)


class ActionDecoder(tools.Module):
  """Dreamer's tanh-Normal actor q(a | s) (or q(a | s, z) when fed the skill as well)."""

  def __init__(self, size, layers, units, act='elu', min_std=1e-4, init_std=5, mean_scale=5):
    super().__init__()
    self._size = size
    self._layers = layers
    self._units = units
    self._act = _act(act)
    self._min_std = min_std
    self._init_std = init_std
    self._mean_scale = mean_scale

  def __call__(self, features):
    raw_init_std = np.log(np.exp(self._init_std) - 1)
    x = tf.cast(_mlp(self, features, self._layers, self._units, self._act, 2 * self._size),
                tf.float32)
    mean, std = tf.split(x, 2, -1)
    mean = self._mean_scale * tf.tanh(mean / self._mean_scale)
    std = tf.nn.softplus(std + raw_init_std) + self._min_std
    dist = tfd.Normal(mean, std)
    dist = tfd.TransformedDistribution(dist, TanhBijector())
    dist = tfd.Independent(dist, 1)
    return dist


def base_entropy(dist):
  """Entropy of the actor's Gaussian before the tanh: closed form, unlike the sampled entropy
  of the squashed distribution, which costs more than the rest of the behaviour update."""
  return tf.reduce_sum(dist.distribution.distribution.entropy(), -1)


def tanh_normal_mode(dist):
  """The deterministic action tanh(mean) of the actor's distribution (used for evaluation)."""
  return tf.tanh(dist.distribution.distribution.mean())


class TanhBijector(tfb.Bijector):
  """tanh with a numerically safe inverse (clipped away from +-1), as in Dreamer."""

  def __init__(self, validate_args=False, name='tanh'):
    super().__init__(forward_min_event_ndims=0, validate_args=validate_args, name=name)

  def _forward(self, x):
    return tf.nn.tanh(x)

  def _inverse(self, y):
    dtype = y.dtype
    y = tf.cast(y, tf.float32)
    y = tf.where(tf.less_equal(tf.abs(y), 1.), tf.clip_by_value(y, -0.99999997, 0.99999997), y)
    return tf.cast(tf.atanh(y), dtype)

  def _forward_log_det_jacobian(self, x):
    log2 = tf.math.log(tf.constant(2.0, dtype=x.dtype))
    return 2.0 * (log2 - x - tf.nn.softplus(-2.0 * x))
