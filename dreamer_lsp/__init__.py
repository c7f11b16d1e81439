"""dreamer-lsp: Dreamer and Latent Skill Planning (Xie et al., ICLR 2021) in TensorFlow 2."""
import os

# Keras 3 layers held by a tf.Module are not tracked (no trainable variables): use tf_keras.
# Set before any TensorFlow import; this package's own __init__ imports no TensorFlow, so that
# environment worker processes stay free of it.
os.environ['TF_USE_LEGACY_KERAS'] = '1'
