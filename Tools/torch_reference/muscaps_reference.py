"""The MusCaps captioning models in PyTorch, written to follow `ilaria-manco/muscaps` line by line
(muscaps/models/cnn_lstm_caption.py, muscaps/models/cnn_attention_lstm.py, muscaps/modules/{encoders,
decoders,attention}.py, muscaps/utils/utils.py:masked_softmax), minus the audio CNN: the models take
the per-chunk features directly, as MusCaps Live does (features come from our musicnn port).

Deliberate differences from the original, all documented in Tools/README.md:
- the track-level feature is the mean over each track's *valid* chunks (the original's
  AdaptiveAvgPool2d also averages the zero-audio padding chunks of shorter tracks in a batch);
- no `.cuda()`; the chunk mask comes from a chunk count instead of `audio_len // input_length`;
- the decoder's dropout can replay given masks (`ReplayDropout`) so Swift can reproduce the same step.
Everything else (concatenation orders, initial states, packing, teacher forcing, the loss) is as in
the original.
"""
import warnings

import torch
import torch.nn as nn



def weight_norm(module):
    """The original's torch.nn.utils.weight_norm (deprecated; parameters weight_g [out, 1] and weight_v)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.nn.utils.weight_norm(module)


class Config:
    def __init__(self, fusion="early", word_embed_dim=300, hidden_dim_encoder=256, hidden_dim_decoder=256,
                 attention_dim=256, dropout_decoder=0.25, vocab_size=1000, audio_feature_dim=753):
        self.fusion = fusion
        self.word_embed_dim = word_embed_dim
        self.hidden_dim_encoder = hidden_dim_encoder
        self.hidden_dim_decoder = hidden_dim_decoder
        self.attention_dim = attention_dim
        self.attention_type = "mlp"
        self.attention_dropout = dropout_decoder
        self.dropout_decoder = dropout_decoder
        self.vocab_size = vocab_size
        self.audio_feature_dim = audio_feature_dim


class ReplayDropout(nn.Module):
    """nn.Dropout that, when `masks` [B, steps, H] is set, multiplies call number s by masks[:, s]."""

    def __init__(self, p):
        super().__init__()
        self.p = p
        self.masks = None
        self.calls = 0

    def forward(self, x):
        if not self.training:
            return x
        if self.masks is None:
            return nn.functional.dropout(x, self.p, True)
        mask = self.masks[:, self.calls]
        self.calls += 1
        return x * mask


def masked_softmax(vector, mask, dim=-1):
    """allennlp's masked_softmax (memory_efficient=False), as muscaps/utils/utils.py has it."""
    mask = mask.float()
    while mask.dim() < vector.dim():
        mask = mask.unsqueeze(1)
    result = torch.nn.functional.softmax(vector * mask, dim=dim)
    result = result * mask
    return result / (result.sum(dim=dim, keepdim=True) + 1e-13)


class WordEmbeddingEncoder(nn.Module):
    def __init__(self, vectors, pad_index=0):
        super().__init__()
        self.word_embeddings = nn.Embedding.from_pretrained(vectors, padding_idx=pad_index)  # frozen
        self.word_embed_dim = self.word_embeddings.embedding_dim

    def forward(self, x):
        return self.word_embeddings(x)


class LSTMEncoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.hidden_dim = config.hidden_dim_encoder
        self.fusion = config.fusion
        extra = self.hidden_dim if self.fusion == "early" else 0
        self.lstm = nn.LSTM(config.word_embed_dim + extra, self.hidden_dim, batch_first=True)

    def forward(self, audio_embeds, word_embeds, x_len):
        audio_embeds = audio_embeds.unsqueeze(1)
        batch_size = audio_embeds.size(0)
        c_init = torch.zeros((1, batch_size, self.hidden_dim))
        h_init = torch.zeros((1, batch_size, self.hidden_dim))
        audio_embeds = torch.cat(word_embeds.size(1) * [audio_embeds], dim=1)
        if self.fusion == "early":
            lstm_input = torch.cat((audio_embeds, word_embeds), dim=2)
        else:
            lstm_input = word_embeds
        x_len = torch.as_tensor(x_len, dtype=torch.int64, device="cpu")
        packed = nn.utils.rnn.pack_padded_sequence(lstm_input, x_len, enforce_sorted=False, batch_first=True)
        lstm_out, _ = self.lstm(packed, (h_init, c_init))
        lstm_out, _ = nn.utils.rnn.pad_packed_sequence(lstm_out, batch_first=True)
        if self.fusion == "late":
            lstm_out = torch.cat((lstm_out, audio_embeds), dim=2)
        return lstm_out


class LSTMDecoder(nn.Module):
    def __init__(self, config, input_dim, hidden_dim):
        super().__init__()
        self.lstm_cell = nn.LSTMCell(input_size=input_dim, hidden_size=hidden_dim)
        self.dense = weight_norm(nn.Linear(hidden_dim, config.vocab_size))
        self.dropout = ReplayDropout(config.dropout_decoder)

    def forward(self, x, h, c):
        hidden_state, cell_state = self.lstm_cell(x, (h, c))
        out = self.dense(self.dropout(hidden_state))
        return out, hidden_state, cell_state


def masked_mean(features, counts):
    mask = (torch.arange(features.size(1)).unsqueeze(0) < counts.unsqueeze(1)).float()
    return (features * mask.unsqueeze(-1)).sum(1) / counts.unsqueeze(1).float()


class CNNLSTMCaption(nn.Module):
    """Early or late fusion (muscaps/models/cnn_lstm_caption.py), teacher forcing."""

    def __init__(self, config, vectors):
        super().__init__()
        h = config.hidden_dim_encoder
        self.audio_linear = nn.Linear(config.audio_feature_dim, h)
        self.batch_norm = nn.BatchNorm1d(h)
        self.relu = nn.ReLU()
        self.text_encoder = WordEmbeddingEncoder(vectors)
        self.encoder = LSTMEncoder(config)
        decoder_input = h if config.fusion == "early" else 2 * h
        self.decoder = LSTMDecoder(config, decoder_input, config.hidden_dim_decoder)
        self.vocab_size = config.vocab_size

    def forward(self, features, counts, x, cap_len):
        audio_embeds = self.relu(self.batch_norm(self.audio_linear(masked_mean(features, counts))))
        word_embeds = self.text_encoder(x)
        encoder_out = self.encoder(audio_embeds, word_embeds, cap_len)
        batch_size, seq_len, _ = word_embeds.size()
        outputs = torch.zeros(batch_size, seq_len, self.vocab_size)
        for t in range(seq_len):
            if t == 0:
                h = audio_embeds
                c = audio_embeds
            else:
                out, h, c = self.decoder(encoder_out[:, t - 1, :], h, c)
                outputs[:, t, :] = out
        return outputs[:, 1:, :]


class Attention(nn.Module):
    def __init__(self, config, audio_feature_dim):
        super().__init__()
        self.audio_projection = nn.Linear(audio_feature_dim, config.attention_dim)
        self.query_projection = nn.Linear(config.hidden_dim_encoder, config.attention_dim)
        self.dropout = nn.Dropout(config.attention_dropout)  # used only by the "dot" type
        self.linear = nn.Linear(config.attention_dim, 1)
        self.tanh = nn.Tanh()

    def forward(self, hidden_state, audio_features, audio_feature_mask):
        projected_features = self.audio_projection(audio_features)
        projected_query = self.query_projection(hidden_state)
        projected_query = projected_query.unsqueeze(1).repeat(1, projected_features.size(1), 1)
        scores = self.linear(self.tanh(projected_features + projected_query)).squeeze(-1)
        return masked_softmax(scores, audio_feature_mask, dim=-1)


class AttentionModel(nn.Module):
    """muscaps/models/cnn_attention_lstm.py, teacher forcing."""

    def __init__(self, config, vectors):
        super().__init__()
        h = config.hidden_dim_encoder
        self.text_encoder = WordEmbeddingEncoder(vectors)
        word_dim = self.text_encoder.word_embed_dim
        self.audio_linear = nn.Linear(config.audio_feature_dim, h)
        self.batch_norm = nn.BatchNorm1d(h)
        self.relu = nn.ReLU()
        self.encoder = nn.LSTMCell(word_dim + 2 * h, h)
        self.attention = Attention(config, config.audio_feature_dim)
        self.decoder = LSTMDecoder(config, config.hidden_dim_decoder + config.audio_feature_dim, config.hidden_dim_decoder)
        self.vocab_size = config.vocab_size

    def forward(self, features, counts, caption):
        pooled = self.relu(self.batch_norm(self.audio_linear(masked_mean(features, counts))))
        word_embeds = self.text_encoder(caption)
        batch_size, seq_len, _ = word_embeds.size()
        mask = torch.arange(features.size(1)).expand(batch_size, features.size(1)) < counts.unsqueeze(1)
        states = {"h1": pooled.clone(), "c1": pooled.clone(), "h2": pooled.clone(), "c2": pooled.clone()}
        seq_len -= 1  # teacher forcing
        outputs = torch.zeros(batch_size, seq_len, self.vocab_size)
        for t in range(seq_len):
            encoder_input = torch.cat([word_embeds[:, t, :], pooled, states["h2"]], dim=1)
            states["h1"], states["c1"] = self.encoder(encoder_input, (states["h1"], states["c1"]))
            weights = self.attention(states["h1"], features, mask)
            attended = torch.sum(weights.unsqueeze(-1) * features, dim=1)
            decoder_input = torch.cat([attended, states["h1"]], dim=1)
            out, states["h2"], states["c2"] = self.decoder(decoder_input, states["h2"], states["c2"])
            outputs[:, t, :] = out
        return outputs


def build(variant, config, vectors):
    if variant == "attention":
        return AttentionModel(config, vectors)
    config.fusion = variant
    return CNNLSTMCaption(config, vectors)


def run(model, variant, features, counts, tokens, lengths):
    """Teacher-forced logits [B, T-1, V] as the original trainer computes them."""
    if variant == "attention":
        return model(features, counts, tokens)
    return model(features, counts, tokens, lengths)


def loss_of(logits, tokens, pad_index=0):
    """muscaps_trainer.py: CrossEntropyLoss(ignore_index=PAD) on out.transpose(1, 2) vs x[:, 1:]."""
    return nn.CrossEntropyLoss(ignore_index=pad_index)(logits.transpose(1, 2), tokens[:, 1:])
