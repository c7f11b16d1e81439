"""Two updates of each method from fixed seeds with TF op determinism: the metrics as JSON
(LSP twice, to show that a process repeats itself exactly).

`python tests/seeded_updates.py --record` stores them in fixtures/seeded_updates.json, the
reference that test_bench checks every later version against: a speed change must not change
what an update computes. Record anew only for a change that is meant to change the losses."""
import json
import pathlib
import random
import sys

import numpy as np
import tensorflow as tf

from conftest import debug_config, random_batch, vector_spaces
from dreamer_lsp import lsp

METHODS = ('dreamer', 'lsp', 'hiro')
FIXTURE = pathlib.Path(__file__).parent / 'fixtures' / 'seeded_updates.json'


def seeded_metrics(method):
  """Seeded as train.py seeds a run: tf_keras's unseeded initializers draw from Python's
  random. The second update's metrics, after the first has changed every network."""
  config = debug_config(method)
  random.seed(0)
  np.random.seed(0)
  tf.random.set_seed(0)
  agent = lsp.make_agent(config, *vector_spaces())
  agent.train(random_batch(config))
  return {k: float(v) for k, v in agent.train(random_batch(config, seed=1)).items()}


def main():
  tf.config.experimental.enable_op_determinism()  # Global to the process.
  result = {method: seeded_metrics(method) for method in METHODS}
  if '--record' in sys.argv:
    FIXTURE.write_text(json.dumps(result, indent=1) + '\n')
  print(json.dumps(dict(result, lsp_again=seeded_metrics('lsp'))))


if __name__ == '__main__':
  main()
