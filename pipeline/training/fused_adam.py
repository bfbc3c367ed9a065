"""Keras's Adam with each variable's update as one fused TensorFlow kernel.

`keras.optimizers.Adam.update_step` is about fifteen small ops per variable (casts, powers, two
moment updates, a square root, a division, the assignment); TensorFlow's executor pays for each,
and on a small network such as LeNet-5 they are a third of a training step. `ResourceApplyAdam`
does the same arithmetic in one kernel:

    m <- m + (g - m)(1 - beta_1);  v <- v + (g^2 - v)(1 - beta_2)
    w <- w - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

The variables, their slots and the checkpoints are Keras's Adam's; AMSGrad and sparse gradients
take Keras's own path.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="pipeline")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam`, the update of each variable one `ResourceApplyAdam` kernel."""

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )
