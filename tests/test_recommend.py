"""Recommended parameters per model family (PaddleX's rules for GPUs, ours on the CPU)."""

from __future__ import annotations

import pytest

from jupyter_trio.trainers.recommend import gpu_batch, recommended


def test_gpu_batch_follows_each_familys_memory():
    gpu = [8000]
    # at PaddleX's own input sizes the figures are PaddleX's: (memory - fixed) // per image, capped
    assert gpu_batch("MobileNetV2", gpu, 224) == 125  # (8000-513)//57 = 131, cap 125
    assert gpu_batch("ResNet50", gpu, 224) == 16  # (8000-739)//211 = 34, cap 16
    assert gpu_batch("YOLOv3", gpu, 608) == 6  # (8000-1555)//943
    assert gpu_batch("PPYOLO", gpu, 608) == 6  # (8000-1691)//1025
    assert gpu_batch("DeepLabv3p", gpu, 512) == 4 and gpu_batch("FastSCNN", gpu, 512) == 4
    assert gpu_batch("DeepLabv3p", [4000], 512) == 1 and gpu_batch("FastSCNN", [4000], 512) == 4
    # the smallest GPU decides, then every GPU takes that many
    assert gpu_batch("YOLOv3", [8000, 4000], 608) == 2 * 2
    # smaller inputs fit more images, up to 128 per GPU
    assert gpu_batch("YOLOv3", gpu, 304) == 27  # (8000-1555) / (943/4) = 27.3, under the cap of 32
    assert gpu_batch("MobileNetV2", [80000], 64) == 128


def test_detector_warm_up_and_decay_as_paddlex():
    p = recommended("detection", model="PPYOLO", num_train=400, num_classes=3, image_size=(128, 128))
    # CPU: batch 16 at 128 px, 25 steps an epoch; warm-up max(75, 150) = 150 < 400*3
    assert (p.batch_size, p.warmup_steps, p.backbone) == (16, 150, "ResNet50_vd_ssld")
    assert p.num_epochs == 60 and p.lr_decay_epochs == [36, 51]
    # warm-up past the first decay: the decay epochs and the end move by the warm-up's epochs
    p = recommended("detection", model="YOLOv3", num_train=40, num_classes=20, image_size=(128, 128))
    steps = 40 // 16
    warm = min(max(3 * steps, 50 * 20), 400 * 20)
    assert p.warmup_steps == warm and p.lr_decay_epochs[0] == int(60 * 0.6) + warm // steps
    assert p.num_epochs == 60 + warm // steps
    two = recommended("detection", num_train=4000, num_classes=1, gpu_memory_mib=[16000, 16000])
    assert two.warmup_steps == min(max(3 * (4000 // two.batch_size), 50), 200)  # 400 per class per GPU


def test_classifier_learning_rate_grows_with_the_batch():
    small = recommended("classification", model="ResNet18", num_train=1000, gpu_memory_mib=[2000])
    big = recommended("classification", model="ResNet18", num_train=1000, gpu_memory_mib=[24000, 24000])
    assert small.batch_size < big.batch_size and big.cuda_visible_devices == "0,1"
    assert big.learning_rate == pytest.approx(0.1 * big.batch_size / 256)
    mobile = recommended("classification", model="MobileNetV3_large", num_train=1000, gpu_memory_mib=[2000])
    assert mobile.batch_size > small.batch_size
    assert mobile.learning_rate == pytest.approx(0.1 * mobile.batch_size / 500)


def test_cpu_defaults_and_small_datasets():
    p = recommended("segmentation", model="HRNet_W18", num_train=10, image_size=(96, 96))
    assert p.cuda_visible_devices == "" and p.batch_size == 5 and p.image_shape == [96, 96]
    assert recommended("remote_segmentation", num_train=100).model == "UNet"
    assert recommended("instance_segmentation", num_train=100).model == "MaskYOLO"


def test_two_stage_detectors_have_their_own_rules():
    assert gpu_batch("FasterRCNN", [16000], 1033) == 2 and gpu_batch("MaskRCNN", [16000], 1033) == 2
    assert gpu_batch("MaskRCNN", [4000], 1033) == 1
    p = recommended("detection", model="FasterRCNN", num_train=800, num_classes=3, image_size=(128, 128))
    assert p.warmup_steps == max(800 // 16, 50) and p.with_fpn and p.backbone == "ResNet18"
    m = recommended("instance_segmentation", model="MaskRCNN", num_train=100, num_classes=3)
    assert m.model == "MaskRCNN" and m.warmup_steps == 50
