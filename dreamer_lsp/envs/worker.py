"""Entry point of env worker processes: python -m dreamer_lsp.envs.worker FD.

Builds the env that the parent sends as make_env keyword arguments over the socket FD, then
answers (method name, args) messages with ('ok', result) or ('error', traceback).
"""

import sys
import traceback
from multiprocessing import connection

from dreamer_lsp.envs import make_env


def main(fd):
  conn = connection.Connection(fd)
  try:
    env = make_env(**conn.recv(), process=False)
    conn.send(('ok', (env.obs_space, env.act_space)))
  except Exception:
    conn.send(('error', traceback.format_exc()))
    return
  while True:
    try:
      name, args = conn.recv()
    except EOFError:
      break  # The parent is gone.
    if name == 'close':
      break
    try:
      conn.send(('ok', getattr(env, name)(*args)))
    except Exception:
      conn.send(('error', traceback.format_exc()))
  env.close()


if __name__ == '__main__':
  main(int(sys.argv[1]))
