"""Analysis of MaskAnyNet's masking: entropy gain, feature similarity and
their F-score (pure functions on batched tensors), plus the image loading and
strategy names shared by ``tools/analysis_tools/mask_strategy_stats.py`` and
``tools/visualization/show_masks.py``; and of representations: attention
distance and entropy, minibatch CKA; top-1 under test-time corruptions and
reuse-branch ablations."""
from .entropy_similarity import (cell_mask_to_pixels, cosine_similarity,
                                 entropy_gain, f_score, grey_entropy,
                                 grey_histogram, grey_levels,
                                 histogram_entropy, normalise_by_max,
                                 pooled_features)
from .evaluation import (corruption_options, evaluate_top1,
                         other_image_options)
from .images import list_images, load_images, pick_images
from .models import (add_image_arguments, add_model_pairs,
                     analysis_pipeline, check_model_pairs, load_model,
                     load_or_exit, load_vit, normalised_batches, packed_images,
                     picked_images, run_backbone, vit_input_size)
from .representations import (MinibatchCKA, attention_distance_entropy,
                              max_entropy, patch_attention, patch_distances,
                              recording_attention, recording_outputs,
                              vit_attention_layers)
from .strategies import STRATEGIES, build_mask_reuse, cell_grid, grid_period
from .tsne import neighbour_agreement, patch_features, tsne_embedding

__all__ = [
    'grey_levels', 'grey_histogram', 'histogram_entropy', 'grey_entropy',
    'cell_mask_to_pixels', 'entropy_gain', 'pooled_features',
    'cosine_similarity', 'normalise_by_max', 'f_score', 'list_images',
    'pick_images', 'load_images', 'STRATEGIES', 'build_mask_reuse',
    'cell_grid', 'grid_period', 'MinibatchCKA', 'attention_distance_entropy',
    'max_entropy', 'patch_attention', 'patch_distances',
    'recording_attention', 'recording_outputs', 'vit_attention_layers',
    'load_model', 'load_or_exit', 'analysis_pipeline', 'packed_images',
    'normalised_batches', 'run_backbone', 'vit_input_size',
    'add_image_arguments', 'picked_images', 'load_vit', 'evaluate_top1',
    'add_model_pairs', 'check_model_pairs', 'patch_features',
    'tsne_embedding', 'neighbour_agreement',
    'corruption_options', 'other_image_options'
]
