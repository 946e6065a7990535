"""Writes tests/data/tf_random.txt: numbers TensorFlow draws, for ember's
random ops and initializers to reproduce (tests/random_test.cpp,
tests/initializers_test.cpp).

    /opt/tfvenv/bin/python tests/tf/make_random_fixtures.py tests/data/tf_random.txt

Each case is three lines: its name, then `dtype d0,d1,...`, then the values
as float.hex(). Cases run in the order listed, since the op seeds TensorFlow
draws after set_seed depend on the order of calls.
"""
import sys

import tensorflow as tf
import keras

from fixture_file import write_cases


def cases():
    # Global seed only: each op draws its op seed from random.Random(global).
    tf.random.set_seed(42)
    yield "global42/normal", tf.random.normal([5])
    yield "global42/normal_again", tf.random.normal([3])
    yield "global42/uniform", tf.random.uniform([7])
    yield "global42/truncated", tf.random.truncated_normal([6])
    yield "global42/normal_f64", tf.random.normal([5], dtype=tf.float64)
    yield "global42/uniform_f64", tf.random.uniform([3], dtype=tf.float64)
    yield "global42/truncated_f64", tf.random.truncated_normal([5], dtype=tf.float64)
    yield "global42/uniform_range", tf.random.uniform([4], -0.05, 0.05)
    yield "global42/normal_scaled", tf.random.normal([4], 1.0, 0.5)
    # Global and op seed: one stream per (op, dtype, seeds), continued across calls.
    tf.random.set_seed(7)
    yield "global7/op5_uniform", tf.random.uniform([3], seed=5)
    yield "global7/op5_uniform_again", tf.random.uniform([6], seed=5)
    yield "global7/op5_normal", tf.random.normal([4], seed=5)
    yield "global7/op5_truncated", tf.random.truncated_normal([4], seed=5)
    yield "global7/op5_normal_again", tf.random.normal([4], seed=5)
    # Long draws: many Philox blocks, truncated normal's groups and remainder.
    tf.random.set_seed(3)
    yield "global3/normal_1000", tf.random.normal([1000])
    yield "global3/truncated_1001", tf.random.truncated_normal([1001])
    yield "global3/truncated_f64_301", tf.random.truncated_normal([301], dtype=tf.float64)
    # Op seed only: the global seed is TensorFlow's DEFAULT_GRAPH_SEED.
    tf.random.set_seed(None)
    yield "op_only/uniform", tf.random.uniform([5], seed=3)
    yield "op_only/uniform_again", tf.random.uniform([5], seed=3)
    # tf.random.Generator: counter = seed, key = 0, advancing 256 blocks per element.
    g = tf.random.Generator.from_seed(1234)
    yield "generator1234/normal", g.normal([10])
    yield "generator1234/uniform", g.uniform([5])
    yield "generator1234/truncated", g.truncated_normal([9])
    yield "generator1234/normal_f64", g.normal([3], dtype=tf.float64)
    yield "generator1234/uniform_range", g.uniform([4], -2.0, 3.0)
    # Draws inside a tf.function and eager draws continue one stream: each
    # call's op reads the generator's state variable and advances it.
    g = tf.random.Generator.from_seed(5)
    traced = tf.function(lambda: g.normal([3]))
    yield "generator5/traced_call1", traced()
    yield "generator5/traced_call2", traced()
    yield "generator5/eager_after", g.normal([3])
    traced_int = tf.function(lambda: g.uniform([4], 0, 10, dtype=tf.int32))
    yield "generator5/traced_int", traced_int()
    yield "generator5/traced_int_again", traced_int()
    yield "generator5/eager_uniform_after", g.uniform([2])
    yield "generator5/state", tf.identity(g.state)
    # Full-range integers (StatefulUniformFullInt's draw), seeds for the
    # stateless ops, and split generators (counter 0, a key drawn from this one).
    g = tf.random.Generator.from_seed(8)
    yield "generator8/full_int64", g.uniform_full_int([3], dtype=tf.int64)
    yield "generator8/full_int32", g.uniform_full_int([5], dtype=tf.int32)
    yield "generator8/make_seeds", g.make_seeds(2)
    first, second = g.split(2)
    yield "generator8/split_first", first.normal([2])
    yield "generator8/split_second", second.uniform([3])
    yield "generator8/after_split", g.normal([2])
    # Keras initializers with a seed: stateless draws, the same at every call.
    init = keras.initializers
    yield "init/glorot_normal_1", init.GlorotNormal(seed=1)((20, 30))
    yield "init/glorot_uniform_1", init.GlorotUniform(seed=1)((20, 30))
    yield "init/he_normal_conv_2", init.HeNormal(seed=2)((3, 3, 4, 8))
    yield "init/he_uniform_conv_2", init.HeUniform(seed=2)((3, 3, 4, 8))
    yield "init/lecun_normal_3", init.LecunNormal(seed=3)((7, 5))
    yield "init/lecun_uniform_3", init.LecunUniform(seed=3)((7, 5))
    yield "init/random_normal_4", init.RandomNormal(mean=0.5, stddev=2.0, seed=4)((3, 4))
    yield "init/random_uniform_4", init.RandomUniform(-1.0, 2.0, seed=4)((3, 4))
    yield "init/truncated_normal_5", init.TruncatedNormal(stddev=0.1, seed=5)((6,))
    yield "init/orthogonal_6", init.Orthogonal(seed=6)((6, 4))
    yield "init/orthogonal_wide_6", init.Orthogonal(gain=2.0, seed=6)((3, 5))
    yield "init/glorot_normal_f64_7", init.GlorotNormal(seed=7)((4, 3), dtype="float64")
    yield "init/seed_big", init.GlorotUniform(seed=3000000000)((2, 2))
    # Inside tf.function: ops without a seed take the function graph's op
    # seeds 0, 1, 2, ... in creation order (not random.Random(global), so an
    # eager draw before does not shift them); every op's stream starts at the
    # function's first call and continues at every call; an op seed gives
    # (global, seed) from its start, whatever eager draws used it.
    tf.random.set_seed(11)
    yield "function11/eager_before", tf.random.uniform([2])
    yield "function11/eager_op5", tf.random.uniform([2], seed=5)

    @tf.function
    def draws():
        return tf.random.uniform([3]), tf.random.normal([4]), tf.random.uniform([2], seed=5)

    for call in (1, 2):
        u, n, s = draws()
        yield "function11/uniform_call%d" % call, u
        yield "function11/normal_call%d" % call, n
        yield "function11/op5_call%d" % call, s
    # Stateless draws from a seed (the raw op a traced dropout runs), and
    # Keras 3's dropout masks: two calls of a seeded layer in training.
    yield "stateless/uniform_7_3", tf.random.stateless_uniform([2, 5], seed=[7, 3])
    yield "stateless/uniform_f64", tf.random.stateless_uniform([4], seed=[2**40, 9], dtype=tf.float64)
    yield "stateless/raw_uniform", tf.raw_ops.StatelessRandomUniform(shape=[6], seed=tf.constant([11, -4], tf.int64))
    # tf.nn.experimental.stateless_dropout (Keras 3's Dropout on TensorFlow):
    # the draw in x's dtype, x/(1 - rate) where it is at least the rate; 25
    # and 9 elements (not whole Philox blocks), and the gradient of
    # sum(w * dropout(x)) (the same mask on w).
    x = tf.reshape(tf.range(1, 26, dtype=tf.float32) * 0.25 - 3.0, [5, 5])
    w = tf.reshape(tf.range(25, dtype=tf.float32) * -0.5 + 1.0, [5, 5])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.experimental.stateless_dropout(x, 0.3, seed=[7, 3])
        loss = tf.reduce_sum(w * y)
    yield "stateless/dropout_f32", y
    yield "stateless/dropout_f32_grad", tape.gradient(loss, x)
    x64 = tf.reshape(tf.range(1, 10, dtype=tf.float64) * 0.5 - 2.0, [3, 3])
    yield "stateless/dropout_f64", tf.nn.experimental.stateless_dropout(x64, 0.6, seed=[2**40, 9])
    # TensorFlow's own initializers (init_ops_v2, tf.random_normal_initializer
    # and tf.random_uniform_initializer): a seed draws stateless numbers for
    # [seed, 0]; without one each call is a stateful op under the global
    # seed, so two calls of one initializer differ.
    tf.random.set_seed(42)
    yield "init_v2/random_normal", tf.random_normal_initializer()([3, 4])
    rn = tf.random_normal_initializer(mean=1.0, stddev=2.0)
    yield "init_v2/random_normal_call1", rn([5])
    yield "init_v2/random_normal_call2", rn([5])
    yield "init_v2/random_uniform", tf.random_uniform_initializer(-1.0, 2.0)([2, 3])
    yield "init_v2/random_normal_f64", tf.random_normal_initializer()([3], dtype=tf.float64)
    yield "init_v2/random_normal_seed7", tf.random_normal_initializer(seed=7)([4])
    yield "init_v2/random_uniform_seed7", tf.random_uniform_initializer(seed=7)([4])
    yield "init_v2/random_uniform_seed0", tf.random_uniform_initializer(seed=0)([3])
    # The 16-bit floats: a uniform is a word's low 16 bits as the mantissa
    # over 1.0, minus 1 (Uint16ToHalf / Uint16ToGfloat16); normals are
    # float32's rounded; scaling is done in the 16-bit type.
    for dt, short in ((tf.bfloat16, "bf16"), (tf.float16, "f16")):
        yield "half/stateless_uniform_" + short, tf.random.stateless_uniform([2, 5], seed=[7, 3], dtype=dt)
        yield "half/stateless_uniform_range_" + short, tf.random.stateless_uniform(
            [6], seed=[7, 3], minval=-0.3, maxval=0.7, dtype=dt)
        yield "half/stateless_normal_" + short, tf.random.stateless_normal([6], seed=[7, 3], dtype=dt)
        yield "half/stateless_truncated_" + short, tf.random.stateless_truncated_normal(
            [9], seed=[7, 3], stddev=0.5, dtype=dt)
        tf.random.set_seed(42)
        yield "half/global42_uniform_" + short, tf.random.uniform([5], dtype=dt)
        yield "half/global42_normal_" + short, tf.random.normal([5], 1.0, 2.0, dtype=dt)
        yield "half/global42_truncated_" + short, tf.random.truncated_normal([6], dtype=dt)
        dtype = "bfloat16" if dt == tf.bfloat16 else "float16"
        yield "half/glorot_uniform_1_" + short, init.GlorotUniform(seed=1)((20, 30), dtype=dtype)
        yield "half/glorot_normal_1_" + short, init.GlorotNormal(seed=1)((20, 30), dtype=dtype)
        yield "half/random_uniform_4_" + short, init.RandomUniform(-1.0, 2.0, seed=4)((3, 4), dtype=dtype)
    # tf.random.categorical (Multinomial) and stateless_categorical
    # (StatelessMultinomial): one row; small batches (one pass of TensorFlow's
    # kernel) with -inf, +inf and NaN logits (never drawn) and a row with no
    # finite logit (every sample is the class count); int32 indices, float64
    # and float16 logits; a seeded stream continued across calls, and a
    # global seed alone.
    one_row = tf.math.log(tf.constant([[0.1, 0.2, 0.3, 0.4]]))
    inf, nan = float("inf"), float("nan")
    rows = tf.constant([[0.0, 1.0, 2.0, -inf, 0.5], [3.0, 3.0, 3.0, 3.0, 3.0], [-1.0, inf, 0.2, nan, -0.3]])
    yield "categorical/stateless_one_row", tf.random.stateless_categorical(one_row, 20, seed=[7, 3])
    yield "categorical/stateless_rows_int32", tf.random.stateless_categorical(rows, 6, seed=[2**40, 9], dtype=tf.int32)
    yield "categorical/stateless_rows_f64", tf.random.stateless_categorical(tf.cast(rows, tf.float64), 5, seed=[1, 2])
    yield "categorical/stateless_f16", tf.random.stateless_categorical(tf.cast(one_row, tf.float16), 7, seed=[5, 5])
    yield "categorical/no_finite_logit", tf.random.stateless_categorical(
        tf.constant([[-inf, -inf, -inf]]), 3, seed=[1, 1])
    tf.random.set_seed(5)
    yield "categorical/global5_op2", tf.random.categorical(one_row, 6, seed=2)
    yield "categorical/global5_op2_again", tf.random.categorical(one_row, 6, seed=2)
    yield "categorical/global5_rows", tf.random.categorical(rows, 9, seed=2)
    tf.random.set_seed(9)
    yield "categorical/global9", tf.random.categorical(one_row, 4)
    yield "categorical/global9_again", tf.random.categorical(one_row, 4)
    # TensorFlow 1's stateless normal and truncated normal ops (what its V2
    # ops, from the seed's key and counter, import as).
    yield "stateless/raw_normal", tf.raw_ops.StatelessRandomNormal(shape=[7], seed=tf.constant([11, -4], tf.int64))
    yield "stateless/raw_truncated_f64", tf.raw_ops.StatelessTruncatedNormal(
        shape=[9], seed=tf.constant([3, 8], tf.int32), dtype=tf.float64)
    # Integer draws: minval + (a word, or two for int64, low first) mod the
    # range (RandomUniformInt, StatelessRandomUniformInt and its V2, the
    # generator's StatefulUniformInt); 1000 elements cross many blocks; the
    # widest int32 range; a seeded stream continued; a generator advanced
    # by the integer draws.
    yield "int/stateless_int32", tf.random.stateless_uniform([9], seed=[7, 3], minval=-3, maxval=10, dtype=tf.int32)
    yield "int/stateless_int32_1000", tf.random.stateless_uniform([1000], seed=[5, 6], minval=0, maxval=1000,
                                                                   dtype=tf.int32)
    yield "int/stateless_int32_widest", tf.random.stateless_uniform([6], seed=[2, 2], minval=-2**31, maxval=2**31 - 1,
                                                                     dtype=tf.int32)
    yield "int/stateless_int64_wide", tf.random.stateless_uniform([7], seed=[1, 2], minval=-2**40, maxval=2**40,
                                                                   dtype=tf.int64)
    yield "int/raw_v1_int64", tf.raw_ops.StatelessRandomUniformInt(
        shape=[5], seed=tf.constant([4, 4], tf.int32), minval=tf.constant(5, tf.int64), maxval=tf.constant(9, tf.int64))
    tf.random.set_seed(13)
    yield "int/global13_op4", tf.random.uniform([6], 0, 100, dtype=tf.int32, seed=4)
    yield "int/global13_op4_again", tf.random.uniform([3], 0, 100, dtype=tf.int32, seed=4)
    yield "int/global13_int64", tf.random.uniform([5], -7, 7, dtype=tf.int64)
    g = tf.random.Generator.from_seed(99)
    yield "int/generator99_int32", g.uniform([5], 0, 10, dtype=tf.int32)
    yield "int/generator99_int64", g.uniform([3], -2**35, 2**35, dtype=tf.int64)
    yield "int/generator99_after", g.uniform([2])
    # tf.random.shuffle (RandomShuffle): row i swapped with row i + word_i
    # mod (rows - i); a seeded stream continued ((rows - 1) words, a block
    # per 4); rows of a matrix (another dtype: its own stream); a global
    # seed alone; a long vector.
    tf.random.set_seed(21)
    yield "shuffle/global21_op3", tf.random.shuffle(tf.range(10), seed=3)
    yield "shuffle/global21_op3_again", tf.random.shuffle(tf.range(10), seed=3)
    yield "shuffle/global21_rows", tf.random.shuffle(tf.reshape(tf.range(12.0), [6, 2]), seed=3)
    yield "shuffle/global21_fresh", tf.random.shuffle(tf.range(7))
    yield "shuffle/long", tf.random.shuffle(tf.range(1000), seed=8)

    # tf.random.stateless_gamma (StatelessRandomGammaV3 from the seed's key):
    # Marsaglia and Tsang's sampler, each output from its own 256 blocks;
    # alpha 1 exponential, below 1 boosted; beta dividing; the smallest
    # normal number as the floor (alpha 0.01 in float16 underflows).
    alpha = tf.constant([0.5, 1.0, 3.0])
    yield "gamma/stateless", tf.random.stateless_gamma([40, 3], seed=[1, 2], alpha=alpha)
    yield "gamma/stateless_f64", tf.random.stateless_gamma([40, 3], seed=[1, 2], alpha=tf.cast(alpha, tf.float64),
                                                           dtype=tf.float64)
    yield "gamma/stateless_f16", tf.random.stateless_gamma([40, 3], seed=[1, 2], alpha=tf.cast(alpha, tf.float16),
                                                           dtype=tf.float16)
    yield "gamma/stateless_beta", tf.random.stateless_gamma([5, 2, 3], seed=[7, 3], alpha=[[2.5], [0.25]],
                                                            beta=[4.0, 0.5, 1.0])
    yield "gamma/stateless_extreme", tf.random.stateless_gamma([8, 4], seed=[5, 5], alpha=[0.01, 0.2, 100.0, 1000.0])
    yield "gamma/stateless_tiny_f16", tf.random.stateless_gamma([16], seed=[2, 9], alpha=tf.constant(0.05, tf.float16),
                                                                dtype=tf.float16)
    yield "gamma/raw_v2_int32_seed", tf.raw_ops.StatelessRandomGammaV2(
        shape=[6, 2], seed=tf.constant([4, 4], tf.int32), alpha=tf.constant([0.7, 1.7]))
    # tf.random.gamma (RandomGamma): shape followed by alpha's; a seeded stream
    # continued (outputs·256 blocks); another dtype; a global seed alone.
    tf.random.set_seed(17)
    yield "gamma/global17_op3", tf.random.gamma([4], alpha=[0.3, 2.5], seed=3)
    yield "gamma/global17_op3_again", tf.random.gamma([4], alpha=[0.3, 2.5], seed=3)
    yield "gamma/global17_op3_f64", tf.random.gamma([2, 3], alpha=tf.constant(1.5, tf.float64), seed=3,
                                                    dtype=tf.float64)
    yield "gamma/global17_fresh_beta", tf.random.gamma([3], alpha=[[1.0, 4.0]], beta=[[2.0], [0.5]])
    # RandomGammaGrad: d(sample)/d(alpha) on both of its branches (the series
    # where x <= 1 or x <= alpha, the continued fraction beyond), and the
    # gradients of stateless_gamma's samples in alpha and beta.
    a = tf.constant([0.05, 0.5, 1.0, 2.5, 10.0, 150.0])
    x = tf.constant([[1e-3], [0.3], [1.0], [2.0], [9.0], [40.0], [160.0]])
    yield "gamma/grad_f32", tf.raw_ops.RandomGammaGrad(alpha=a, sample=x)
    yield "gamma/grad_f64", tf.raw_ops.RandomGammaGrad(alpha=tf.cast(a, tf.float64), sample=tf.cast(x, tf.float64))
    alpha = tf.constant([0.4, 1.0, 2.0, 7.5], tf.float64)
    beta = tf.constant([[1.5], [0.5]], tf.float64)
    with tf.GradientTape() as tape:
        tape.watch([alpha, beta])
        y = tf.random.stateless_gamma([30, 2, 4], seed=[11, 12], alpha=alpha, beta=beta, dtype=tf.float64)
        loss = tf.reduce_sum(tf.square(y) * tf.reshape(tf.range(240, dtype=tf.float64) / 240, [30, 2, 4]))
    da, db = tape.gradient(loss, [alpha, beta])
    yield "gamma/tape_dalpha_f64", da
    yield "gamma/tape_dbeta_f64", db
    # tf.random.gamma's (RandomGamma: alpha's samples after the shape's).
    tf.random.set_seed(23)
    alpha = tf.constant([0.4, 3.0], tf.float64)
    beta = tf.constant(0.8, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch([alpha, beta])
        y = tf.random.gamma([20], alpha, beta, dtype=tf.float64, seed=2)
        loss = tf.reduce_sum(tf.sqrt(y) * tf.reshape(tf.range(40, dtype=tf.float64) / 40, [20, 2]))
    da, db = tape.gradient(loss, [alpha, beta])
    yield "gamma/tape_stateful_dalpha_f64", da
    yield "gamma/tape_stateful_dbeta_f64", db

    # tf.random.stateless_poisson (StatelessRandomPoisson) and
    # tf.random.poisson (RandomPoissonV2): Knuth's product of uniforms below
    # rate 10, Hörmann's transformed rejection from 10; each output from its
    # own 256 blocks; rates at most 0 give 0, infinite ones +inf (0 in int32).
    yield "poisson/stateless", tf.random.stateless_poisson([40, 3], seed=[1, 2], lam=[0.5, 4.0, 25.0])
    yield "poisson/stateless_f32", tf.random.stateless_poisson([40, 3], seed=[1, 2], lam=[0.5, 4.0, 25.0],
                                                               dtype=tf.float32)
    yield "poisson/stateless_f64_int64", tf.random.stateless_poisson(
        [10, 4], seed=[3, 8], lam=tf.constant([9.99, 10.0, 1000.0, 1e6], tf.float64), dtype=tf.int64)
    yield "poisson/stateless_edges", tf.random.stateless_poisson([3, 4], seed=[6, 1], lam=[0.0, -2.0, 1e-3, 60.0],
                                                                 dtype=tf.float32)
    yield "poisson/stateless_inf", tf.random.stateless_poisson([2, 2], seed=[6, 1], lam=[float("inf"), 3.0],
                                                               dtype=tf.float32)
    yield "poisson/stateless_inf_int32", tf.random.stateless_poisson([2, 2], seed=[6, 1], lam=[float("inf"), 3.0])
    yield "poisson/stateless_f16", tf.random.stateless_poisson([20], seed=[2, 2], lam=tf.constant(7.5, tf.float16),
                                                               dtype=tf.float16)
    yield "poisson/stateless_int_rate", tf.random.stateless_poisson([6, 2], seed=[5, 4], lam=tf.constant([3, 12]))
    yield "poisson/raw_int32_seed", tf.raw_ops.StatelessRandomPoisson(
        shape=tf.constant([5, 2]), seed=tf.constant([4, 4], tf.int32), lam=tf.constant([0.7, 17.0]),
        dtype=tf.float32)
    tf.random.set_seed(29)
    yield "poisson/global29_op4", tf.random.poisson([5], lam=[2.0, 15.0], seed=4)
    yield "poisson/global29_op4_again", tf.random.poisson([5], lam=[2.0, 15.0], seed=4)
    yield "poisson/global29_op4_int32", tf.random.poisson([3, 2], lam=8.0, seed=4, dtype=tf.int32)
    yield "poisson/global29_fresh", tf.random.poisson([4], lam=[[1.0, 30.0]], dtype=tf.int64)

    # Full-range integers (StatelessRandomUniformFullIntV2 from the seed's
    # key): the bits of a word (int32) or two, low first (int64); and
    # tf.random.split and fold_in, which draw them.
    yield "full_int/int32", tf.random.stateless_uniform([5, 3], seed=[1, 2], dtype=tf.int32, minval=None, maxval=None)
    yield "full_int/int64", tf.random.stateless_uniform([7], seed=[1, 2], dtype=tf.int64, minval=None, maxval=None)
    yield "full_int/raw_v1_int32_seed", tf.raw_ops.StatelessRandomUniformFullInt(
        shape=[6], seed=tf.constant([4, 4], tf.int32), dtype=tf.int64)
    yield "full_int/split_int32", tf.random.split(tf.constant([7, 3], tf.int32), num=3)
    yield "full_int/split_int64", tf.random.split(tf.constant([2**40, -9], tf.int64))
    yield "full_int/fold_in", tf.random.fold_in(tf.constant([7, 3], tf.int64), tf.constant(5, tf.int64))
    yield "full_int/fold_in_int32", tf.random.fold_in(tf.constant([7, 3], tf.int32), 11)
    # (int64 values beyond 2^53 lose bits as the file's doubles: their words, exactly)
    yield "full_int/int64_words", tf.bitcast(
        tf.random.stateless_uniform([7], seed=[1, 2], dtype=tf.int64, minval=None, maxval=None), tf.int32)
    yield "full_int/split_int64_words", tf.bitcast(tf.random.split(tf.constant([2**40, -9], tf.int64)), tf.int32)

    # tf.random.stateless_binomial (StatelessRandomBinomial): inversion
    # below count·p 10 (42 blocks an output), BTRS from 10, p above 1/2 by
    # its complement; counts and probs broadcast; the edges.
    yield "binomial/stateless", tf.random.stateless_binomial(
        [30, 4], seed=[1, 2], counts=[5.0, 40.0, 100.0, 1000.0], probs=[0.3, 0.2, 0.75, 0.5])
    yield "binomial/stateless_f64", tf.random.stateless_binomial(
        [20, 2, 3], seed=[3, 4], counts=tf.constant([[10.0], [300.0]], tf.float64),
        probs=tf.constant([0.05, 0.5, 0.97], tf.float64), output_dtype=tf.float64)
    yield "binomial/stateless_edges", tf.random.stateless_binomial(
        [3, 6], seed=[5, 6], counts=[0.0, -3.0, 7.0, 7.0, 7.0, 12.0], probs=[0.5, 0.5, 0.0, 1.0, 1.5, float("nan")],
        output_dtype=tf.float32)
    yield "binomial/stateless_int64", tf.random.stateless_binomial(
        [8, 3], seed=[7, 7], counts=[20.0, 50.0, 2e6], probs=[0.999, 0.01, 0.3], output_dtype=tf.int64)
    yield "binomial/stateless_f16", tf.random.stateless_binomial(
        [12, 2], seed=[8, 1], counts=tf.constant([30.0, 4.0], tf.float16), probs=tf.constant([0.5, 0.9], tf.float16),
        output_dtype=tf.float16)
    yield "binomial/raw_int32_seed", tf.raw_ops.StatelessRandomBinomial(
        shape=tf.constant([5, 2]), seed=tf.constant([4, 4], tf.int32), counts=tf.constant([25.0, 3.0]),
        probs=tf.constant([0.6, 0.1]), dtype=tf.int32)

    # A seeded op's stream is its eager kernel's: a categorical draw of
    # another output dtype starts its own stream; a Poisson draw of another
    # rate dtype continues the same one.
    tf.random.set_seed(31)
    yield "streams/poisson_f32_rate", tf.random.poisson([3], lam=2.0, seed=5)
    yield "streams/poisson_f64_rate", tf.random.poisson([3], lam=tf.constant(2.0, tf.float64), seed=5)
    yield "streams/poisson_f32_rate_again", tf.random.poisson([3], lam=2.0, seed=5)
    yield "streams/categorical_int64", tf.random.categorical([[0.0, 1.0]], 6, seed=5)
    yield "streams/categorical_int32", tf.random.categorical([[0.0, 1.0]], 6, seed=5, dtype=tf.int32)
    yield "streams/categorical_int64_again", tf.random.categorical([[0.0, 1.0]], 6, seed=5)


def main(path):
    write_cases(path, "TensorFlow %s, Keras %s (tests/tf/make_random_fixtures.py)" % (tf.__version__, keras.__version__),
                cases())


if __name__ == "__main__":
    main(sys.argv[1])
