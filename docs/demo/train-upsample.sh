#!/usr/bin/env bash
# Demo upsampler: 64 -> 256 px, trained from scratch on 64 px crops of the full-resolution sample.
set -eu
WS=${WS:?set WS to a workspace holding ../shared/ham10000-sample (dermstudy --workspace WS dataset import ...)}
OPTS='{"num_channels":32,"num_res_blocks":1,"channel_mult":"1,1,2,2,4,4","attention_resolutions":"","num_head_channels":32,"xf_width":128,"xf_layers":1,"xf_heads":4,"text_ctx":24,"dropout":0.0}'
exec python -m dermstudy --workspace "$WS" train upsampler --init scratch --preset fast --model-options "$OPTS" \
  --patch-size 64 --batch-size 16 --lr 3e-4 --ema 0.998 --steps 40000 --seed 0 \
  --checkpoint-every 200 --preview-every 1000 --preview-steps 10 --log-every 10 "$@"
