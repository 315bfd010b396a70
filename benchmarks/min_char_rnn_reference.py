"""A plain, single-file NumPy char-RNN training loop in min-char-rnn's configuration (Karpathy's gist, Python 3):
tanh RNN, H = 100, seq_length = 25, Adagrad lr 0.1, gradients clipped to ±5 element-wise, the hidden state
carried across chunks and reset at the end of the data. Written for bench_training.py to compare against;
nothing in explorer/ uses it.
"""
import numpy as np


class MinCharRNN:
    def __init__(self, vocab_size, hidden_size=100, seed=0):
        rng = np.random.default_rng(seed)
        H, V = hidden_size, vocab_size
        self.Wxh = rng.standard_normal((H, V)) * 0.01
        self.Whh = rng.standard_normal((H, H)) * 0.01
        self.Why = rng.standard_normal((V, H)) * 0.01
        self.bh = np.zeros((H, 1))
        self.by = np.zeros((V, 1))
        self.mem = [np.zeros_like(p) for p in self.params()]
        self.V, self.H = V, H

    def params(self):
        return [self.Wxh, self.Whh, self.Why, self.bh, self.by]

    def loss_fun(self, inputs, targets, hprev):
        xs, hs, ys, ps = {}, {}, {}, {}
        hs[-1] = np.copy(hprev)
        loss = 0.0
        for t in range(len(inputs)):
            xs[t] = np.zeros((self.V, 1))
            xs[t][inputs[t]] = 1
            hs[t] = np.tanh(np.dot(self.Wxh, xs[t]) + np.dot(self.Whh, hs[t - 1]) + self.bh)
            ys[t] = np.dot(self.Why, hs[t]) + self.by
            ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
            loss += -np.log(ps[t][targets[t], 0])
        dWxh, dWhh, dWhy = np.zeros_like(self.Wxh), np.zeros_like(self.Whh), np.zeros_like(self.Why)
        dbh, dby = np.zeros_like(self.bh), np.zeros_like(self.by)
        dhnext = np.zeros_like(hs[0])
        for t in reversed(range(len(inputs))):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1
            dWhy += np.dot(dy, hs[t].T)
            dby += dy
            dh = np.dot(self.Why.T, dy) + dhnext
            dhraw = (1 - hs[t] * hs[t]) * dh
            dbh += dhraw
            dWxh += np.dot(dhraw, xs[t].T)
            dWhh += np.dot(dhraw, hs[t - 1].T)
            dhnext = np.dot(self.Whh.T, dhraw)
        for dparam in [dWxh, dWhh, dWhy, dbh, dby]:
            np.clip(dparam, -5, 5, out=dparam)
        return loss, [dWxh, dWhh, dWhy, dbh, dby], hs[len(inputs) - 1]

    def train(self, data_ids, n_updates, seq_length=25, learning_rate=0.1, p=0, hprev=None):
        """n updates from position p; returns (losses, p, hprev) so a run can be continued."""
        losses = []
        for _ in range(n_updates):
            if hprev is None or p + seq_length + 1 >= len(data_ids):
                hprev = np.zeros((self.H, 1))
                p = 0
            inputs = data_ids[p:p + seq_length]
            targets = data_ids[p + 1:p + seq_length + 1]
            loss, grads, hprev = self.loss_fun(inputs, targets, hprev)
            for param, dparam, mem in zip(self.params(), grads, self.mem):
                mem += dparam * dparam
                param += -learning_rate * dparam / np.sqrt(mem + 1e-8)
            losses.append(loss)
            p += seq_length
        return losses, p, hprev
