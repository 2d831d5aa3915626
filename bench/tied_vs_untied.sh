#!/bin/bash
# The demo's model with and without a tied output layer (model.tie_embeddings), at equal steps
# (bench/demo_ab.sh with KEY=model.tie_embeddings; the directories are OUT/true and OUT/false).
#
#   bench/tied_vs_untied.sh runs/demo-tied hrm runs/tie_hrm 1500
#   bench/tied_vs_untied.sh runs/demo-tied baseline runs/tie_base 1500
set -euo pipefail
exec "$(dirname "$0")/demo_ab.sh" "${1:?demo dir}" "${2:?hrm or baseline}" "${3:?output dir}" "${4:-1500}" \
  model.tie_embeddings true false
