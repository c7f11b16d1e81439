"""Mixed precision (precision: 16): updates really train, and dynamic loss scaling recovers
from an overflow."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import tools
from conftest import debug_config, random_batch
from dreamer_lsp import lsp


@pytest.fixture
def mixed_policy():
  yield
  tf_keras.mixed_precision.set_global_policy('float32')  # The agent sets it process-wide.


def test_every_variable_trains_under_mixed_precision(spaces, mixed_policy):
  config = debug_config('lsp', precision=16, free_nats=0.0)
  agent = lsp.make_agent(config, *spaces)
  agent.train(random_batch(config))
  networks = agent.networks()
  before = {k: [v.numpy().copy() for v in m.trainable_variables] for k, m in networks.items()}
  # The first updates may overflow in float16 and be skipped while the loss scale comes down.
  norms = [agent.train(random_batch(config, seed=seed)) for seed in range(1, 4)]
  for key in ('model_grad_norm', 'actor_grad_norm', 'value_grad_norm', 'skill_pred_grad_norm'):
    finite = [float(m[key]) for m in norms if np.isfinite(float(m[key]))]
    assert finite and min(finite) > 0, (key, [float(m[key]) for m in norms])
  for name, module in networks.items():
    assert module.trainable_variables[0].dtype == tf.float32
    unchanged = [v.name for v, old in zip(module.trainable_variables, before[name])
                 if np.array_equal(v.numpy(), old)]
    assert not unchanged, f'{name}: not updated: {unchanged}'


def test_an_overflow_lowers_the_loss_scale_and_training_goes_on(mixed_policy):
  tf_keras.mixed_precision.set_global_policy('mixed_float16')
  layer = tools.Module()
  dense = layer.get('dense', tf_keras.layers.Dense, 1)
  opt = tools.Optimizer('test', 1e-2, clip=100.0, mixed=True)
  inputs = tf.ones((4, 3))

  def update(factor):
    with tf.GradientTape() as tape:
      loss = factor * tf.reduce_mean(tf.cast(dense(inputs), tf.float32))
    return float(opt(tape, loss, [layer]))

  update(1.0)
  scale = float(opt.loss_scale)
  weights = [v.numpy().copy() for v in layer.trainable_variables]
  assert not np.isfinite(update(1e36))  # Overflows float32 once multiplied by the loss scale.
  assert float(opt.loss_scale) < scale
  assert all(np.array_equal(v.numpy(), w) for v, w in zip(layer.trainable_variables, weights))
  assert np.isfinite(update(1.0))
  assert not all(np.array_equal(v.numpy(), w) for v, w in zip(layer.trainable_variables, weights))
