"""Has the camera been knocked aside? Match ORB features of a frame against the enrolled reference view."""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

MATCH_WIDTH_PX = 640
MIN_INLIERS = 12  # fewer consistent matches than this: the reference view is not in the frame


@dataclass
class ViewShift:
    matched: bool  # a consistent transform from the reference to the frame was found
    shift: float = 0.0  # displacement of the view centre, share of the frame diagonal
    scale: float = 1.0
    rotation_deg: float = 0.0
    inliers: int = 0


def _grey(frame: np.ndarray) -> np.ndarray:
    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    if w != MATCH_WIDTH_PX:
        grey = cv2.resize(grey, (MATCH_WIDTH_PX, max(1, round(h * MATCH_WIDTH_PX / w))), interpolation=cv2.INTER_AREA)
    return grey


class ReferenceView:
    """Keypoints of the reference frame, computed once; `compare` estimates how a frame moved from it."""

    def __init__(self, reference: np.ndarray, features: int = 1000):
        self.orb = cv2.ORB.create(nfeatures=features)
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self.grey = _grey(reference)
        self.keypoints, self.descriptors = self.orb.detectAndCompute(self.grey, None)

    @property
    def usable(self) -> bool:
        return self.descriptors is not None and len(self.keypoints) >= MIN_INLIERS

    def compare(self, frame: np.ndarray) -> ViewShift:
        grey = _grey(frame)
        kps, desc = self.orb.detectAndCompute(grey, None)
        if not self.usable or desc is None or len(kps) < MIN_INLIERS:
            return ViewShift(matched=False)
        matches = self.matcher.match(self.descriptors, desc)
        if len(matches) < MIN_INLIERS:
            return ViewShift(matched=False, inliers=len(matches))
        src = np.array([self.keypoints[m.queryIdx].pt for m in matches], dtype=np.float32)
        dst = np.array([kps[m.trainIdx].pt for m in matches], dtype=np.float32)
        transform, mask = cv2.estimateAffinePartial2D(src, dst, None, cv2.RANSAC, 3.0)
        inliers = int(mask.sum()) if mask is not None else 0
        if transform is None or inliers < MIN_INLIERS:
            return ViewShift(matched=False, inliers=inliers)
        h, w = self.grey.shape
        centre = np.array([w / 2, h / 2, 1.0])
        moved_to = transform @ centre
        shift = float(np.hypot(moved_to[0] - w / 2, moved_to[1] - h / 2)) / math.hypot(w, h)
        a, b = float(transform[0, 0]), float(transform[1, 0])
        return ViewShift(matched=True, shift=shift, scale=math.hypot(a, b),
                         rotation_deg=math.degrees(math.atan2(b, a)), inliers=inliers)
