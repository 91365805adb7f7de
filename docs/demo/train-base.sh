#!/usr/bin/env bash
# Demo base model: 64 px, text-conditional, trained from scratch on all HAM10000 200x150 images.
set -eu
WS=${WS:?set WS to a workspace holding ../shared/ham10000-200x150 (dermstudy --workspace WS dataset import ...)}
OPTS='{"num_channels":32,"num_res_blocks":1,"channel_mult":"1,2,3,4","attention_resolutions":"16,8","num_head_channels":32,"xf_width":128,"xf_layers":2,"xf_heads":4,"text_ctx":24,"dropout":0.0}'
exec python -m dermstudy --workspace "$WS" train base --init scratch --preset fast --model-options "$OPTS" \
  --batch-size 16 --lr 3e-4 --ema 0.998 --steps 40000 --seed 0 \
  --checkpoint-every 200 --preview-every 400 --preview-steps 20 --log-every 10 "$@"
