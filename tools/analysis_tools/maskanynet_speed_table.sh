#!/usr/bin/env bash
# The MaskAnyNet speed table of docs/measured.md: compare_speed.py for every fusion
# variant of MaskResNet-50 and for MaskViT-B/16 and MaskSwin-T, each against
# its vanilla twin, in train and test mode, at the recipes' per-GPU batch;
# then Mask R-CNN (COCO, 800x1333, 2 images) and UperNet (ADE20K, 512x512
# crops, 4) with MaskResNet-50 against ResNet-50, in train mode. No weights
# are loaded (the steps do not depend on them).
# Prints one markdown row per run; the full logs go to $LOG_DIR. The first
# row that runs also times the masking micro-benchmark (64 images at its
# size: 224 x 224 with the ResNet-50 recipe's masks when every row runs),
# printed last; --masking-batch-size N changes or (0) skips it.
#
# ONLY=REGEX keeps the rows whose "name mode" matches.
#
#   [MODES="train test"] [ONLY=REGEX] bash tools/analysis_tools/maskanynet_speed_table.sh \
#       [compare_speed.py flags]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python}
LOG_DIR=${LOG_DIR:-work_dirs/maskanynet_speed_table}
mkdir -p "$LOG_DIR"
TOOL=tools/analysis_tools/compare_speed.py

MASKING_LOG=  # the log of the first row run, which also times the masking
row() {  # name config baseline mode [compare_speed flags]
    local name=$1 config=$2 baseline=$3 mode=$4 log masking=0
    shift 4
    [[ "$name $mode" =~ ${ONLY:-.} ]] || return 0
    log="$LOG_DIR/$(echo "$name" | tr -c 'A-Za-z0-9.\n-' _)_$mode.log"
    # the masking micro-benchmark (64 images at the row's size, the
    # recipe's masks) rides along with the first row, in its process;
    # flags given to this script come later and win
    if [[ -z "$MASKING_LOG" ]]; then masking=64; MASKING_LOG=$log; fi
    "$PYTHON" "$TOOL" "configs/$config" --baseline "configs/$baseline" \
        --mode "$mode" --masking-batch-size $masking "$@" > "$log" 2>&1 \
        || { tail -n 20 "$log"; exit 1; }
    local last
    last=$(tail -n 1 "$log")
    ratio=${last#ratio=}; ratio=${ratio%% *}
    peak_a=${last#*peak_mem_a=}; peak_a=${peak_a%% *}
    peak_b=${last#*peak_mem_b=}
    echo "| $name | $mode | $ratio | $peak_a | $peak_b |"
}

echo "| MaskAnyNet vs vanilla twin | mode | step time ratio | peak MiB (ours) | peak MiB (vanilla) |"
echo "|---|---|---|---|---|"
R50=(maskanynet/resnet50_imagenet.py baselines/resnet50_imagenet.py)
for mode in ${MODES:-train test}; do
    row "ResNet-50 concat+FAM (default)" "${R50[@]}" $mode "$@"
    row "ResNet-50 add" "${R50[@]}" $mode \
        --cfg-options model.backbone.fusion=add "$@"
    row "ResNet-50 image level" "${R50[@]}" $mode \
        --cfg-options model.backbone.fusion=image "$@"
    row "ResNet-50 decision level" "${R50[@]}" $mode --cfg-options \
        model.backbone.fusion=decision model.head.in_channels=4096 "$@"
    row "ViT-B/16 concat+FAM" maskanynet/vit-b16_imagenet.py \
        baselines/vit-b16_imagenet.py $mode "$@"
    row "Swin-T concat+FAM" maskanynet/swin-t_imagenet.py \
        baselines/swin-t_imagenet.py $mode "$@"
done
MASK_RCNN=(maskanynet/resnet50_coco_maskrcnn.py
           baselines/resnet50_coco_maskrcnn.py train
           --batch-size 2 --shape 800 1333
           --baseline-cfg-options model.backbone.init_cfg=None)
# as shipped: from a MaskAnyNet checkpoint, the reuse branch frozen with the
# stem; then from torchvision's ResNet-50, the reuse branch training
row "Mask R-CNN R-50 FPN, COCO" "${MASK_RCNN[@]}" \
    --cfg-options model.backbone.init_cfg=None "$@"
MASK_RCNN[0]=maskanynet/ablations/resnet50_coco_maskrcnn_torchvision-init.py
row "Mask R-CNN R-50 FPN, COCO, from torchvision" "${MASK_RCNN[@]}" \
    --cfg-options model.backbone.init_cfg=None "$@"
row "UperNet R-50, ADE20K" maskanynet/resnet50_ade20k_upernet.py \
    baselines/resnet50_ade20k_upernet.py train --batch-size 4 \
    --shape 512 512 --cfg-options model.pretrained=None \
    --baseline-cfg-options model.pretrained=None "$@"
# the masking micro-benchmark of the first row (64 x 3 x 224 x 224 and the
# ResNet-50 recipe's masks when every row runs)
[[ -z "$MASKING_LOG" ]] || grep '^masking' "$MASKING_LOG" || true  # none: skipped
