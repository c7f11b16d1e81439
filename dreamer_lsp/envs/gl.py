"""Chooses the OpenGL backend that dm_control reads once, when it is first imported."""

import glob
import os
import sys


def backend():
  """The user's MUJOCO_GL, else EGL on a machine with an NVIDIA GPU and OSMesa without."""
  return os.environ.get('MUJOCO_GL') or (
      'egl' if glob.glob('/dev/nvidia[0-9]*') else 'osmesa')


def import_dm_control(render):
  """Imports dm_control, loading a GL backend only where the process renders.

  OSMesa crashes any process that also loads TensorFlow, even one that never renders, so
  processes that do not render load no backend. The variable is set only for the import:
  worker processes started later still inherit the user's choice.
  """
  if 'dm_control._render' in sys.modules:
    return
  previous = os.environ.get('MUJOCO_GL')
  os.environ['MUJOCO_GL'] = backend() if render else 'disable'
  try:
    import dm_control.suite  # noqa: F401
  finally:
    if previous is None:
      del os.environ['MUJOCO_GL']
    else:
      os.environ['MUJOCO_GL'] = previous
