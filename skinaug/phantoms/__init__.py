"""Phantoms: a deterministic generator of dermoscopy-like images with lesion masks.

This is skinaug's embedded default data set (tests, the demo and CI run on it; no real data can be shipped).
`make_phantoms` writes it in the official HAM10000 layout, so `skinaug.readers.ham10000.read_ham10000`
reads it like the real thing:

    HAM10000_metadata.csv                                     lesion_id,image_id,dx,dx_type,age,sex,localization
    HAM10000_images/PH_xxxxxxx.jpg                            200x150 RGB JPEG (quality 92)
    HAM10000_segmentations_lesion_tschandl/PH_xxxxxxx_segmentation.png   mode L, 0 = skin, 255 = lesion

What the images contain:
- the seven HAM10000 classes in HAM10000's proportions (at least `min_per_class` images of each);
- per class its own distributions of lesion size, elongation, asymmetry, border irregularity and
  sharpness, colours and dermoscopic structures (pigment network, dots/globules, streaks, blue-white
  veil, regression, cerebriform fissures, milia-like cysts, comedo-like openings, arborising vessels,
  blue-grey ovoid nests, scale, strawberry pattern, central white patch, red-purple lacunae); the
  ranges of the classes overlap on purpose so that the task is learnable but not trivial;
- skin of varying tone with blotches and grain, dermoscope vignetting (sometimes the black circular
  field of view), hair on a fraction of images, uneven lighting, blur, noise and JPEG compression;
- several photographs of some lesions (like HAM10000, where a lesion was often photographed 2-3 times):
  the images of one lesion share its lesion_id, geometry, colours, structures and skin, and differ by a
  small shift, rotation, zoom, lighting, hair and noise - so that splits must be grouped by lesion.

The mask of an image is exactly the lesion region that was drawn (the set where the lesion's boundary
function is below 1, after the photograph's shift/rotation/zoom), before hair, lighting and blur.

Everything is seeded from (config.seed, index): the plan (classes, lesions, metadata) from the seed,
each lesion's appearance from (seed, lesion index) and each photograph from (seed, image index), so the
same config gives byte-identical files whatever the order of generation.

The package, in the order of the pipeline:
    config.py          PhantomConfig and the seed streams
    plan.py            class counts, lesions per class, HAM-like metadata (nothing drawn)
    palette.py         skin, pigment, vessel and scale colours
    lesion.py          a lesion's geometry, colours and structures (the recipes' building blocks)
    recipes.py         one recipe per class
    raster.py          pixel helpers: smooth steps, noise, blending, drawn layers, the lesion frame
    lesion_drawing.py  drawing a lesion into a photograph (extent, colours, structures) and its mask
    photo.py           skin, hair, lighting, vignetting, field of view, blur and noise; render_phantom
    dataset.py         make_phantoms: the HAM10000 layout on disk
"""

from .config import PhantomConfig
from .dataset import IMAGES_DIR, MASKS_DIR, METADATA_COLUMNS, METADATA_NAME, make_phantoms, phantom_metadata
from .dataset import render_planned as _render_planned  # noqa: F401 (the tests' name for drawing one planned image)
from .photo import render_phantom
from .plan import HAM_COUNTS, class_counts
from .plan import plan_images as _plan  # noqa: F401 (the tests' name for the plan)

__all__ = [
    "HAM_COUNTS",
    "IMAGES_DIR",
    "MASKS_DIR",
    "METADATA_COLUMNS",
    "METADATA_NAME",
    "PhantomConfig",
    "class_counts",
    "make_phantoms",
    "phantom_metadata",
    "render_phantom",
]
