"""Worked examples computed by hand: every z, a, δ, the cost and the parameters after one step
of gradient descent W ← W − η ∂C/∂W, b ← b − η ∂C/∂b, checked to 1e-9.

The literal numbers below were derived scalar by scalar with Python's math module (math.exp,
math.tanh, math.log), one neuron at a time, without deltaprop; each comment shows the
arithmetic that produced the number.
"""

import numpy as np
import pytest

from deltaprop import Network

TOL = 1e-9


def close(actual, expected, tol=TOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=0, atol=tol)


def gradient_step(net, grads, lr):
    for l in range(net.num_layers):
        net.weights[l] -= lr * grads.weights[l]
        net.biases[l] -= lr * grads.biases[l]


# =========================================================================== example 1
# Matt Mazur, "A Step by Step Backpropagation Example" (2015): a 2-2-2 network, sigmoid
# everywhere, E = Σ ½(target − out)² (the quadratic cost of one sample), learning rate 0.5.
# Weights w1..w8 as he numbers them: w1, w2 from i1, i2 into h1; w3, w4 into h2; w5, w6 from
# h1, h2 into o1; w7, w8 into o2. In the textbook's W[j, k] (to j, from k):
#   W^1 = [[w1, w2], [w3, w4]],  W^2 = [[w5, w6], [w7, w8]].
# His bias is one number per layer (b1 = 0.35, b2 = 0.60): here b^1 = (0.35, 0.35),
# b^2 = (0.60, 0.60).
MAZUR_X = [[0.05, 0.10]]
MAZUR_Y = [[0.01, 0.99]]
MAZUR_LR = 0.5

# net_h1 = 0.15·0.05 + 0.20·0.10 + 0.35 = 0.3775
# net_h2 = 0.25·0.05 + 0.30·0.10 + 0.35 = 0.3925
Z1 = [0.3775, 0.3925]
# out_h1 = 1/(1 + e^{−0.3775}) = 0.5932699921071872
# out_h2 = 1/(1 + e^{−0.3925}) = 0.596884378259767
A1 = [0.5932699921071872, 0.596884378259767]
# net_o1 = 0.40·0.5932699921071872 + 0.45·0.596884378259767 + 0.60 = 1.10590596705977
# net_o2 = 0.50·0.5932699921071872 + 0.55·0.596884378259767 + 0.60 = 1.2249214040964653
Z2 = [1.10590596705977, 1.2249214040964653]
# out_o1 = 1/(1 + e^{−1.10590596705977}) = 0.7513650695523157
# out_o2 = 1/(1 + e^{−1.2249214040964653}) = 0.7729284653214625
A2 = [0.7513650695523157, 0.7729284653214625]
# E = ½(0.01 − 0.7513650695523157)² + ½(0.99 − 0.7729284653214625)²
#   = 0.274811083176155 + 0.023560025583847746 = 0.2983711087600027
COST = 0.2983711087600027
# BP1: δ_o = (out_o − target) · out_o(1 − out_o)
# δ_o1 = (0.7513650695523157 − 0.01)·0.7513650695523157·0.24863493044768425 = 0.13849856162855695
# δ_o2 = (0.7729284653214625 − 0.99)·0.7729284653214625·0.22707153467853747 = −0.038098236516556236
DELTA2 = [0.13849856162855695, -0.038098236516556236]
# BP2: δ_h = (Σ_o w_oh δ_o) · out_h(1 − out_h)
# δ_h1 = (0.40·δ_o1 + 0.50·δ_o2)·0.5932699921071872·0.4067300078928128 = 0.00877135468948693
# δ_h2 = (0.45·δ_o1 + 0.55·δ_o2)·0.596884378259767·0.40311562174023297 = 0.009954254705217196
DELTA1 = [0.00877135468948693, 0.009954254705217196]
# BP4 and the step, w ← w − 0.5 · δ_to · out_from, all with the weights before the step:
# w5 = 0.40 − 0.5·δ_o1·out_h1 = 0.40 − 0.5·0.08216704056423077 = 0.35891647971788465
# w6 = 0.45 − 0.5·δ_o1·out_h2 = 0.45 − 0.5·0.08266762784753325 = 0.4086661860762334
# w7 = 0.50 − 0.5·δ_o2·out_h1 = 0.50 + 0.5·0.02260254047747507 = 0.5113012702387375
# w8 = 0.55 − 0.5·δ_o2·out_h2 = 0.55 + 0.5·0.022740242215978222 = 0.5613701211079891
W2_AFTER = [[0.35891647971788465, 0.4086661860762334], [0.5113012702387375, 0.5613701211079891]]
# w1 = 0.15 − 0.5·δ_h1·0.05 = 0.1497807161327628
# w2 = 0.20 − 0.5·δ_h1·0.10 = 0.19956143226552567
# w3 = 0.25 − 0.5·δ_h2·0.05 = 0.24975114363236958
# w4 = 0.30 − 0.5·δ_h2·0.10 = 0.29950228726473915
W1_AFTER = [[0.1497807161327628, 0.19956143226552567], [0.24975114363236958, 0.29950228726473915]]
# BP3 and the step, b ← b − 0.5 · δ (Mazur leaves his biases fixed; here each entry moves):
# b^1 = (0.35 − 0.5·δ_h1, 0.35 − 0.5·δ_h2) = (0.3456143226552565, 0.3450228726473914)
# b^2 = (0.60 − 0.5·δ_o1, 0.60 − 0.5·δ_o2) = (0.5307507191857215, 0.6190491182582781)
B1_AFTER = [0.3456143226552565, 0.3450228726473914]
B2_AFTER = [0.5307507191857215, 0.6190491182582781]


def mazur_network():
    net = Network([2, 2, 2], activation="sigmoid", loss="quadratic")
    net.weights[0] = [[0.15, 0.20], [0.25, 0.30]]
    net.weights[1] = [[0.40, 0.45], [0.50, 0.55]]
    net.biases[0] = [0.35, 0.35]
    net.biases[1] = [0.60, 0.60]
    return net


def test_mazur_forward_pass():
    g = mazur_network().backprop(MAZUR_X, MAZUR_Y)
    close(g.zs[0], [Z1])
    close(g.activations[1], [A1])
    close(g.zs[1], [Z2])
    close(g.activations[2], [A2])
    close(g.cost, COST)


def test_mazur_deltas_and_gradients():
    g = mazur_network().backprop(MAZUR_X, MAZUR_Y)
    close(g.deltas[1], [DELTA2])
    close(g.deltas[0], [DELTA1])
    # BP4: ∂C/∂w_jk = a_k δ_j; BP3: ∂C/∂b_j = δ_j (one sample)
    close(g.weights[1], np.outer(DELTA2, A1))
    close(g.weights[0], np.outer(DELTA1, MAZUR_X[0]))
    close(g.biases[1], DELTA2)
    close(g.biases[0], DELTA1)
    # his ∂E_total/∂w5 = 0.082167041 and ∂E_total/∂w1 = 0.000438568, as published
    close(g.weights[1][0, 0], 0.082167041, tol=5e-10)
    close(g.weights[0][0, 0], 0.000438568, tol=5e-10)


def test_mazur_one_gradient_step():
    net = mazur_network()
    g = net.backprop(MAZUR_X, MAZUR_Y)
    gradient_step(net, g, MAZUR_LR)
    close(net.weights[1], W2_AFTER)
    close(net.weights[0], W1_AFTER)
    close(net.biases[1], B2_AFTER)
    close(net.biases[0], B1_AFTER)


def test_mazur_published_numbers():
    # The values as printed in the article, to the digits printed (half a unit in the last place).
    net = mazur_network()
    g = net.backprop(MAZUR_X, MAZUR_Y)
    close(g.zs[0][0, 0], 0.3775, tol=5e-11)
    close(g.activations[1][0], [0.593269992, 0.596884378], tol=5e-10)
    close(g.zs[1][0, 0], 1.105905967, tol=5e-10)
    close(g.activations[2][0], [0.75136507, 0.772928465], tol=5e-9)
    close(g.cost, 0.298371109, tol=5e-10)
    gradient_step(net, g, MAZUR_LR)
    close(net.weights[1], [[0.35891648, 0.408666186], [0.511301270, 0.561370121]], tol=5e-9)
    close(net.weights[0], [[0.149780716, 0.19956143], [0.24975114, 0.29950229]], tol=5e-9)


def test_mazur_step_lowers_the_cost():
    net = mazur_network()
    g = net.backprop(MAZUR_X, MAZUR_Y)
    gradient_step(net, g, MAZUR_LR)
    assert net.cost(MAZUR_X, MAZUR_Y) < COST - 1e-3


# =========================================================================== example 2
# A 2-3-1 network, tanh hidden layer, identity output, quadratic cost, a batch of m = 2
# samples, η = 0.1. The cost and the gradients are means over the two samples; δ is per sample.
EX2_X = [[1.0, 2.0], [-0.5, 0.5]]
EX2_Y = [[0.5], [-1.0]]
EX2_LR = 0.1
EX2_W1 = [[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]]
EX2_B1 = [0.1, -0.1, 0.05]
EX2_W2 = [[0.3, -0.6, 0.9]]
EX2_B2 = [0.2]

# sample 1, x = (1, 2):
#   z^1 = (0.1·1 − 0.2·2 + 0.1, 0.4·1 + 0.3·2 − 0.1, −0.5·1 + 0.2·2 + 0.05) = (−0.2, 0.9, −0.05)
#   a^1 = tanh z^1 = (−0.19737532022490406, 0.7162978701990245, −0.04995837495787995)
#   z^2 = a^2 = 0.3·a_1 − 0.6·a_2 + 0.9·a_3 + 0.2 = −0.3339538556489778
#   C_1 = ½(−0.3339538556489778 − 0.5)² = 0.3477395166758981
# sample 2, x = (−0.5, 0.5):
#   z^1 = (−0.05 − 0.1 + 0.1, −0.2 + 0.15 − 0.1, 0.25 + 0.1 + 0.05) = (−0.05, −0.15, 0.4)
#   a^1 = (−0.04995837495787999, −0.148885033623318, 0.3799489622552249)
#   z^2 = a^2 = 0.6162975737163292
#   C_2 = ½(0.6162975737163292 + 1)² = 1.3062089234006464
EX2_Z1 = [[-0.2, 0.9, -0.05], [-0.05, -0.15, 0.4]]
EX2_A1 = [
    [-0.19737532022490406, 0.7162978701990245, -0.04995837495787995],
    [-0.04995837495787999, -0.148885033623318, 0.3799489622552249],
]
EX2_A2 = [[-0.3339538556489778], [0.6162975737163292]]
# C = (0.3477395166758981 + 1.3062089234006464)/2 = 0.8269742200382723
EX2_COST = 0.8269742200382723
# BP1 with σ' = 1 and ∇_a C = a − y: δ^2 = (−0.3339538556489778 − 0.5, 0.6162975737163292 + 1)
EX2_DELTA2 = [[-0.8339538556489778], [1.6162975737163292]]
# BP2: δ^1_j = w^2_1j δ^2 (1 − (a^1_j)²)
#   sample 1: 0.3·(−0.83395…)·(1 − 0.0389570…) = −0.24043965032669634,
#             −0.6·(−0.83395…)·(1 − 0.5130826…) = 0.2436399664272511,
#             0.9·(−0.83395…)·(1 − 0.0024958…) = −0.7486851968112123
#   sample 2: 0.3·1.61629…·(1 − 0.0024958…) = 0.4836790664481085,
#             −0.6·1.61629…·(1 − 0.0221667…) = −0.9482817025453024,
#             0.9·1.61629…·(1 − 0.1443612…) = 1.2446702045285334
EX2_DELTA1 = [
    [-0.24043965032669634, 0.2436399664272511, -0.7486851968112123],
    [0.4836790664481085, -0.9482817025453024, 1.2446702045285334],
]
# BP4, BP3 (means over the two samples):
#   ∂C/∂W^2 = ½(δ^2_1 a^1_1 + δ^2_2 a^1_2)
#           = (0.041927154540139185, −0.41900094462683524, 0.3278867826236192)
#   ∂C/∂b^2 = ½(−0.8339538556489778 + 1.6162975737163292) = 0.3911718590336757
#   ∂C/∂W^1[j, k] = ½(δ^1_1j x_1k + δ^1_2j x_2k),
#   e.g. [0, 0] = ½(−0.24043965… · 1 + 0.48367906… · (−0.5)) = −0.2411395917753753
#   ∂C/∂b^1 = ½(δ^1_1 + δ^1_2) = (0.12161970806070607, −0.3523208680590256, 0.24799250385866056)
EX2_GW2 = [[0.041927154540139185, -0.41900094462683524, 0.3278867826236192]]
EX2_GB2 = [0.3911718590336757]
EX2_GW1 = [
    [-0.2411395917753753, -0.11951988371466922],
    [0.35889040884995116, 0.006569540790925504],
    [-0.6855101495377395, -0.4375176456790789],
]
EX2_GB1 = [0.12161970806070607, -0.3523208680590256, 0.24799250385866056]
# after W ← W − 0.1 ∂C/∂W, b ← b − 0.1 ∂C/∂b, e.g. w^2_11 = 0.3 − 0.1·0.041927154540139185
EX2_W2_AFTER = [[0.2958072845459861, -0.5580999055373165, 0.8672113217376382]]
EX2_B2_AFTER = [0.16088281409663244]
EX2_W1_AFTER = [
    [0.12411395917753754, -0.18804801162853307],
    [0.3641109591150049, 0.29934304592090744],
    [-0.43144898504622603, 0.2437517645679079],
]
EX2_B1_AFTER = [0.0878380291939294, -0.06476791319409744, 0.025200749614133947]


def example2_network():
    net = Network([2, 3, 1], activation="tanh", output_activation="identity", loss="quadratic")
    net.weights = [EX2_W1, EX2_W2]
    net.biases = [EX2_B1, EX2_B2]
    return net


def test_example2_forward_and_cost():
    g = example2_network().backprop(EX2_X, EX2_Y)
    close(g.zs[0], EX2_Z1)
    close(g.activations[1], EX2_A1)
    close(g.activations[2], EX2_A2)
    close(g.zs[1], EX2_A2)
    close(g.cost, EX2_COST)


def test_example2_deltas_and_gradients():
    g = example2_network().backprop(EX2_X, EX2_Y)
    close(g.deltas[1], EX2_DELTA2)
    close(g.deltas[0], EX2_DELTA1)
    close(g.weights[1], EX2_GW2)
    close(g.biases[1], EX2_GB2)
    close(g.weights[0], EX2_GW1)
    close(g.biases[0], EX2_GB1)


def test_example2_one_gradient_step():
    net = example2_network()
    g = net.backprop(EX2_X, EX2_Y)
    gradient_step(net, g, EX2_LR)
    close(net.weights[1], EX2_W2_AFTER)
    close(net.biases[1], EX2_B2_AFTER)
    close(net.weights[0], EX2_W1_AFTER)
    close(net.biases[0], EX2_B1_AFTER)
    assert net.cost(EX2_X, EX2_Y) < EX2_COST


# =========================================================================== example 3
# A 2-2-3 network, ReLU hidden layer, softmax output, cross-entropy, one sample given by its
# class label 2, η = 1. The second hidden neuron has z < 0, so ReLU stops its gradient.
EX3_X = [[1.0, 0.5]]
EX3_LABEL = [2]
EX3_W1 = [[0.5, -0.3], [0.2, 0.8]]
EX3_B1 = [0.1, -0.7]
EX3_W2 = [[1.0, -1.0], [0.5, 0.5], [-0.5, 1.5]]
EX3_B2 = [0.0, 0.1, -0.1]

# z^1 = (0.5·1 − 0.3·0.5 + 0.1, 0.2·1 + 0.8·0.5 − 0.7) = (0.45, −0.1); a^1 = max(z^1, 0) = (0.45, 0)
EX3_Z1 = [[0.45, -0.1]]
EX3_A1 = [[0.45, 0.0]]
# z^2 = (1.0·0.45 + 0.0, 0.5·0.45 + 0.1, −0.5·0.45 − 0.1) = (0.45, 0.325, −0.325)
EX3_Z2 = [[0.45, 0.325, -0.325]]
# e^{z^2} = (1.5683121854901687, 1.3840306459807514, 0.7225273536420722), sum 3.674870185112993
# a^2 = e^{z^2} / 3.674870185112993 = (0.42676669011151674, 0.3766202821496934, 0.19661302773878972)
EX3_A2 = [[0.42676669011151674, 0.3766202821496934, 0.19661302773878972]]
# C = −ln a^2_3 = −ln 0.19661302773878972 = 1.6265178082621232
EX3_COST = 1.6265178082621232
# fused BP1: δ^2 = a^2 − y = (0.42676669011151674, 0.3766202821496934, 0.19661302773878972 − 1)
EX3_DELTA2 = [[0.42676669011151674, 0.3766202821496934, -0.8033869722612103]]
# BP2: δ^1_1 = (1.0·0.4267… + 0.5·0.3766… − 0.5·(−0.8033…))·1 = 1.0167703173169687
#      δ^1_2 = (…)·0 = 0   (z^1_2 < 0)
EX3_DELTA1 = [[1.0167703173169687, 0.0]]
# step with η = 1: W^2[j, k] −= δ^2_j a^1_k; only column k = 1 moves since a^1_2 = 0:
#   1.0 − 0.42676669011151674·0.45 = 0.8079549894498175
#   0.5 − 0.3766202821496934·0.45 = 0.330520873032638
#   −0.5 + 0.8033869722612103·0.45 = −0.13847586248245541
#   b^2 −= δ^2: (−0.42676669011151674, 0.1 − 0.3766202821496934, −0.1 + 0.8033869722612103)
#   W^1[0, :] −= δ^1_1 x = (0.5 − 1.0167703173169687, −0.3 − 0.5·1.0167703173169687);
#   row 1 unchanged
#   b^1 = (0.1 − 1.0167703173169687, −0.7)
EX3_W2_AFTER = [[0.8079549894498175, -1.0], [0.330520873032638, 0.5], [-0.13847586248245541, 1.5]]
EX3_B2_AFTER = [-0.42676669011151674, -0.27662028214969336, 0.7033869722612103]
EX3_W1_AFTER = [[-0.5167703173169687, -0.8083851586584843], [0.2, 0.8]]
EX3_B1_AFTER = [-0.9167703173169687, -0.7]


def example3_network():
    net = Network([2, 2, 3], activation="relu", output_activation="softmax", loss="cross_entropy")
    net.weights = [EX3_W1, EX3_W2]
    net.biases = [EX3_B1, EX3_B2]
    return net


def test_example3_forward_and_cost():
    g = example3_network().backprop(EX3_X, EX3_LABEL)
    close(g.zs[0], EX3_Z1)
    close(g.activations[1], EX3_A1)
    close(g.zs[1], EX3_Z2)
    close(g.activations[2], EX3_A2)
    close(g.cost, EX3_COST)


def test_example3_deltas():
    g = example3_network().backprop(EX3_X, EX3_LABEL)
    close(g.deltas[1], EX3_DELTA2)
    close(g.deltas[0], EX3_DELTA1)


def test_example3_one_gradient_step():
    net = example3_network()
    g = net.backprop(EX3_X, EX3_LABEL)
    gradient_step(net, g, 1.0)
    close(net.weights[1], EX3_W2_AFTER)
    close(net.biases[1], EX3_B2_AFTER)
    close(net.weights[0], EX3_W1_AFTER)
    close(net.biases[0], EX3_B1_AFTER)
    # the same step from a one-hot target row
    other = example3_network()
    gradient_step(other, other.backprop(EX3_X, [[0.0, 0.0, 1.0]]), 1.0)
    np.testing.assert_array_equal(other.get_flat(), net.get_flat())


@pytest.mark.parametrize(
    "make, X, Y",
    [
        (mazur_network, MAZUR_X, MAZUR_Y),
        (example2_network, EX2_X, EX2_Y),
        (example3_network, EX3_X, EX3_LABEL),
    ],
)
def test_worked_examples_pass_gradcheck(make, X, Y):
    from deltaprop import gradcheck

    assert gradcheck(make(), X, Y).max_error < 1e-7


@pytest.mark.parametrize(
    "make, X, Y, lr, deltas, after",
    [
        (mazur_network, MAZUR_X, MAZUR_Y, MAZUR_LR, [[DELTA1], [DELTA2]], [W1_AFTER, W2_AFTER]),
        (
            example2_network,
            EX2_X,
            EX2_Y,
            EX2_LR,
            [EX2_DELTA1, EX2_DELTA2],
            [EX2_W1_AFTER, EX2_W2_AFTER],
        ),
        (
            example3_network,
            EX3_X,
            EX3_LABEL,
            1.0,
            [EX3_DELTA1, EX3_DELTA2],
            [EX3_W1_AFTER, EX3_W2_AFTER],
        ),
    ],
)
def test_explain_traces_the_worked_examples(make, X, Y, lr, deltas, after):
    # explain's trace holds the same hand-derived numbers, each δ also recomputed term by term
    # in plain floats (``explicit``): BP1's product, BP2's sum, and for example 3's fused
    # softmax + cross-entropy the unfused Jacobian product the fused error replaces.
    from deltaprop.explain import explain

    t = explain(make(), X, Y, lr)
    for s, trace in enumerate(t.samples):
        for lb in trace.backward:
            for n in lb.neurons:
                close(n.delta, deltas[lb.l - 1][s][n.j - 1])
                close(n.explicit, deltas[lb.l - 1][s][n.j - 1])
    for l, W in enumerate(after):
        close(t.new_weights[l], W)
    assert t.output_rule == ("fused" if make is example3_network else "BP1")
