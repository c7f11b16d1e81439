"""Runs an env in a worker process that never imports TensorFlow."""

import os
import socket
import subprocess
import sys
from multiprocessing import connection

import dreamer_lsp
from . import wrappers


class Process(wrappers.Calls):
  """The env of `make_env(**kwargs)`, stepped in a child process.

  The child is a fresh interpreter running `python -m dreamer_lsp.envs.worker`, not a
  multiprocessing child: those re-import the parent's main module, and with it TensorFlow,
  which cannot share a process with OSMesa rendering.
  """

  def __init__(self, task, kwargs):
    self._task = task
    ours, theirs = socket.socketpair()
    root = os.path.dirname(os.path.dirname(os.path.abspath(dreamer_lsp.__file__)))
    path = os.pathsep.join(filter(None, [root, os.environ.get('PYTHONPATH')]))
    self._process = subprocess.Popen(
        [sys.executable, '-m', 'dreamer_lsp.envs.worker', str(theirs.fileno())],
        pass_fds=[theirs.fileno()], env={**os.environ, 'PYTHONPATH': path})
    theirs.close()  # Else the parent holds the socket open and never sees the child die.
    self._conn = connection.Connection(ours.detach())
    self._conn.send(kwargs)
    self.obs_space, self.act_space = self._receive()

  @property
  def pid(self):
    return self._process.pid

  def close(self):
    try:
      self._conn.send(('close', ()))
    except OSError:
      pass  # Already dead.
    self._conn.close()
    try:
      self._process.wait(10)
    except subprocess.TimeoutExpired:
      self._process.kill()
      self._process.wait()

  def call_async(self, name, *args):
    """Sends the call and returns a function that waits for its result, so that the workers
    of several envs can step at once."""
    try:
      self._conn.send((name, args))
    except OSError:
      raise self._died() from None
    return self._receive

  def _call(self, name, *args):
    return self.call_async(name, *args)()

  def _receive(self):
    try:
      status, payload = self._conn.recv()
    except (EOFError, OSError):
      raise self._died() from None
    if status == 'error':
      raise RuntimeError(f'Env {self._task!r} failed in its worker process:\n{payload}')
    return payload

  def _died(self):
    try:
      code = self._process.wait(10)
    except subprocess.TimeoutExpired:
      code = 'none, still running'
    return RuntimeError(
        f'The worker process of env {self._task!r} died (exit code {code}); '
        'its error output, if any, is above.')
