"""Identity parameters and the 68-point face geometry that every rendered feature follows.

The face is *defined* by a 68-point landmark template in iBUG order (jaw 0-16, brows 17-26,
nose 27-35, eyes 36-47, mouth 48-67), in "face units": the landmark bounding box spans
[0, 1] x [0, 1] (x right, y down), the same normalisation as the mean face used for dlib/OpenFace
alignment. An identity deforms the template (face width, jaw, eye spacing and size, nose, mouth,
brows), and an expression (blink, mouth opening) moves eyelids, lips and chin. The renderer
(:mod:`umcl.data.synthff.head`) draws every feature *along these points*, so the generator's
landmarks are the ground truth a landmark detector should find.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Mean-face template in face units (symmetric about x = 0.5). It started from an anthropometric
# mean face (eye line at 28 % of the landmark box height, inter-ocular distance ~0.46 of face
# width, mouth at 72 %, chin at 100 %) and was then refined twice by moving each point, mirrored
# symmetrically, by the mean offset between the generator's points and dlib's 68-point predictor
# on rendered frames (6 identities x 8 frames, 256 px). dlib was trained on real faces, so this
# pulls the synthetic geometry towards real proportions; it is fixed and seed-independent.
TEMPLATE_68: np.ndarray = np.array(
    [
        [0.0000, 0.1956],  # 0
        [0.0102, 0.3330],
        [0.0325, 0.4674],
        [0.0632, 0.5961],
        [0.1094, 0.7199],
        [0.1765, 0.8308],  # 5
        [0.2684, 0.9211],
        [0.3770, 0.9823],
        [0.5000, 1.0000],
        [0.6230, 0.9823],
        [0.7316, 0.9211],  # 10
        [0.8235, 0.8308],
        [0.8906, 0.7199],
        [0.9368, 0.5961],
        [0.9675, 0.4674],
        [0.9898, 0.3330],  # 15
        [1.0000, 0.1956],
        [0.1059, 0.0895],
        [0.1658, 0.0257],
        [0.2513, 0.0000],
        [0.3421, 0.0069],  # 20
        [0.4230, 0.0451],
        [0.5770, 0.0451],
        [0.6579, 0.0069],
        [0.7487, 0.0000],
        [0.8342, 0.0257],  # 25
        [0.8941, 0.0895],
        [0.5000, 0.1560],
        [0.5000, 0.2397],
        [0.5000, 0.3224],
        [0.5000, 0.4114],  # 30
        [0.4190, 0.5040],
        [0.4583, 0.5159],
        [0.5000, 0.5268],
        [0.5417, 0.5159],
        [0.5810, 0.5040],  # 35
        [0.2066, 0.1791],
        [0.2561, 0.1463],
        [0.3156, 0.1469],
        [0.3650, 0.1909],
        [0.3116, 0.2033],  # 40
        [0.2532, 0.2025],
        [0.6350, 0.1909],
        [0.6844, 0.1469],
        [0.7439, 0.1463],
        [0.7934, 0.1791],  # 45
        [0.7468, 0.2025],
        [0.6884, 0.2033],
        [0.3531, 0.7082],
        [0.4026, 0.6527],
        [0.4606, 0.6234],  # 50
        [0.5000, 0.6359],
        [0.5394, 0.6234],
        [0.5974, 0.6527],
        [0.6469, 0.7082],
        [0.5983, 0.7572],  # 55
        [0.5438, 0.7803],
        [0.5000, 0.7854],
        [0.4562, 0.7803],
        [0.4017, 0.7572],
        [0.3770, 0.7039],  # 60
        [0.4607, 0.6754],
        [0.5000, 0.6788],
        [0.5393, 0.6754],
        [0.6230, 0.7039],
        [0.5412, 0.7136],  # 65
        [0.5000, 0.7205],
        [0.4588, 0.7136],
    ],
    dtype=np.float64,
)
assert TEMPLATE_68.shape == (68, 2)

# Index groups (iBUG 68).
JAW = slice(0, 17)
BROW_L, BROW_R = slice(17, 22), slice(22, 27)
NOSE_BRIDGE, NOSE_BASE = slice(27, 31), slice(31, 36)
EYE_L, EYE_R = slice(36, 42), slice(42, 48)
MOUTH_OUT, MOUTH_IN = slice(48, 60), slice(60, 68)
INNER_FACE = list(range(17, 68))

# Relative depth of each landmark (0 = jaw contour plane, 1 = nose tip), for yaw parallax.
DEPTH_68 = np.zeros(68)
DEPTH_68[JAW] = np.concatenate([np.linspace(0.0, 0.45, 9), np.linspace(0.45, 0.0, 9)[1:]])
DEPTH_68[17:27] = 0.45
DEPTH_68[NOSE_BRIDGE] = np.linspace(0.55, 1.0, 4)
DEPTH_68[NOSE_BASE] = [0.7, 0.8, 0.85, 0.8, 0.7]
DEPTH_68[36:48] = 0.4
DEPTH_68[48:68] = 0.6


@dataclass(frozen=True)
class Identity:
    """Everything that makes one synthetic person look like themselves (all in face units/RGB 0-1)."""

    index: int
    face_width: float  # horizontal stretch of the whole template
    face_length: float  # vertical stretch of the lower face (nose to chin)
    jaw_width: float  # narrows/widens the lower jaw contour
    eye_spacing: float  # moves the eyes apart/together
    eye_size: float  # scales each eye around its centre
    nose_length: float  # moves the nose base up/down
    nose_width: float  # alar width
    mouth_width: float  # scales the mouth around its centre
    lip_thickness: float  # scales lip height
    brow_height: float  # raises/lowers the brows
    brow_thickness: float  # brow stroke width (face units)
    skin: tuple[float, float, float]  # albedo of the skin (linear-ish RGB, 0-1)
    lip: tuple[float, float, float]
    hair: tuple[float, float, float]
    iris: tuple[float, float, float]
    hair_style: int  # 0 bald/short, 1 short with fringe, 2 long
    hairline: float  # y of the hairline in face units (< 0 is above the brows' box)
    bg_a: tuple[float, float, float]
    bg_b: tuple[float, float, float]
    shirt: tuple[float, float, float]
    texture_seed: int


def neutral_landmarks(ident: Identity) -> np.ndarray:
    """The identity's neutral 68 landmarks in face units (template deformed by shape parameters)."""
    p = TEMPLATE_68.copy()
    cx = 0.5
    p[:, 0] = cx + (p[:, 0] - cx) * ident.face_width
    # Lower face length: everything below the nose bridge top stretches about y = 0.3.
    low = p[:, 1] > 0.3
    p[low, 1] = 0.3 + (p[low, 1] - 0.3) * ident.face_length
    # Jaw width tapers with depth down the jaw (chin stays at the middle).
    jaw = np.arange(17)
    t = np.clip((p[jaw, 1] - 0.4) / 0.6, 0, 1)
    p[jaw, 0] = cx + (p[jaw, 0] - cx) * (1 + (ident.jaw_width - 1) * t)
    for eye, sign in ((EYE_L, -1), (EYE_R, 1)):
        c = p[eye].mean(axis=0)
        p[eye] = c + (p[eye] - c) * ident.eye_size
        p[eye, 0] += sign * (ident.eye_spacing - 1) * 0.17
    for brow, sign in ((BROW_L, -1), (BROW_R, 1)):
        p[brow, 0] += sign * (ident.eye_spacing - 1) * 0.17
        p[brow, 1] -= ident.brow_height
    p[NOSE_BRIDGE.stop - 1, 1] += ident.nose_length
    p[NOSE_BASE, 1] += ident.nose_length
    p[NOSE_BRIDGE.start + 1 : NOSE_BRIDGE.stop, 1] = np.linspace(
        p[NOSE_BRIDGE.start, 1], p[NOSE_BRIDGE.stop - 1, 1], 4
    )[1:]
    nb = p[NOSE_BASE]
    nb[:, 0] = cx + (nb[:, 0] - cx) * ident.nose_width
    p[NOSE_BASE] = nb
    mouth = list(range(48, 68))
    mc = p[mouth].mean(axis=0)
    p[mouth, 0] = mc[0] + (p[mouth, 0] - mc[0]) * ident.mouth_width
    p[mouth, 1] = mc[1] + (p[mouth, 1] - mc[1]) * ident.lip_thickness
    return p


def apply_expression(
    p: np.ndarray, blink: float, mouth_open: float, smile: float = 0.0, brow_raise: float = 0.0
) -> np.ndarray:
    """Move eyelids, lips, chin and brows for one frame (all amounts in [0, 1], face units)."""
    q = p.copy()
    for upper, lower in (((37, 38), (41, 40)), ((43, 44), (47, 46))):
        for u, lo in zip(upper, lower, strict=True):
            # Upper lid closes down to the lower lid (lower lid rises a little).
            gap = q[lo, 1] - q[u, 1]
            q[u, 1] += gap * blink * 0.85
            q[lo, 1] -= gap * blink * 0.1
    drop = 0.075 * mouth_open
    lower_lip = [55, 56, 57, 58, 59, 65, 66, 67]
    q[lower_lip, 1] += drop
    q[[54, 48, 64, 60], 1] += drop * 0.35
    # The chin follows the mandible: jaw points below the mouth move down proportionally.
    jaw_w = np.clip((q[JAW, 1] - 0.55) / 0.45, 0, 1)
    q[JAW, 1] += drop * 0.6 * jaw_w
    # Smile: mouth corners out and up.
    for idx, sign in ((48, -1), (60, -1), (54, 1), (64, 1)):
        q[idx, 0] += sign * 0.02 * smile
        q[idx, 1] -= 0.02 * smile
    q[17:27, 1] -= 0.025 * brow_raise
    return q


def sample_identity(
    rng: np.random.Generator, index: int, skin_tones: np.ndarray, bg_palette: str = "indoor"
) -> Identity:
    """Draw one identity: anthropometric proportions, skin tone from a palette, hair, background."""
    tone = skin_tones[rng.integers(len(skin_tones))] * rng.uniform(0.93, 1.07)
    skin = tuple(float(np.clip(c + rng.normal(0, 0.015), 0.05, 0.95)) for c in tone)
    lip = tuple(float(np.clip(c, 0, 1)) for c in np.array(skin) * np.array([0.95, 0.62, 0.62]))
    dark = rng.uniform(0.04, 0.22)
    hair_kind = rng.random()
    if hair_kind < 0.7:
        hair = (dark * 1.25, dark * 1.0, dark * 0.8)
    elif hair_kind < 0.85:
        hair = (0.55, 0.40, 0.22)  # blond/brown
    else:
        hair = (0.45, 0.43, 0.42)  # grey
    iris = [(0.25, 0.15, 0.07), (0.10, 0.07, 0.04), (0.25, 0.35, 0.45), (0.30, 0.32, 0.18)][int(rng.integers(4))]
    if bg_palette == "studio":
        base = rng.uniform(0.15, 0.45) * np.ones(3) + rng.normal(0, 0.03, 3)
        other = base * rng.uniform(0.7, 1.0)
    elif bg_palette == "outdoor":
        base = np.array([0.45, 0.55, 0.70]) * rng.uniform(0.7, 1.2) + rng.normal(0, 0.05, 3)
        other = np.array([0.30, 0.42, 0.22]) * rng.uniform(0.6, 1.2)
    else:  # indoor, FF++ news/vlog style
        base = rng.uniform(0.2, 0.75, 3)
        other = rng.uniform(0.1, 0.8, 3)
    return Identity(
        index=index,
        face_width=float(rng.uniform(0.92, 1.06)),
        face_length=float(rng.uniform(0.94, 1.08)),
        jaw_width=float(rng.uniform(0.9, 1.05)),
        eye_spacing=float(rng.uniform(0.95, 1.05)),
        eye_size=float(rng.uniform(0.9, 1.1)),
        nose_length=float(rng.uniform(-0.02, 0.02)),
        nose_width=float(rng.uniform(0.9, 1.12)),
        mouth_width=float(rng.uniform(0.9, 1.1)),
        lip_thickness=float(rng.uniform(0.85, 1.2)),
        brow_height=float(rng.uniform(-0.01, 0.015)),
        brow_thickness=float(rng.uniform(0.022, 0.038)),
        skin=skin,
        lip=lip,
        hair=tuple(float(c) for c in hair),
        iris=iris,
        hair_style=int(rng.integers(3)),
        hairline=float(rng.uniform(-0.38, -0.24)),
        bg_a=tuple(float(c) for c in np.clip(base, 0.02, 0.98)),
        bg_b=tuple(float(c) for c in np.clip(other, 0.02, 0.98)),
        shirt=tuple(float(c) for c in rng.uniform(0.05, 0.8, 3)),
        texture_seed=int(rng.integers(2**31)),
    )
