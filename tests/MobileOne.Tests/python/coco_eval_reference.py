"""An independent numpy implementation of COCO's box evaluation (pycocotools' COCOeval, iouType='bbox',
default parameters), written from the published algorithm, step by step: evaluateImg, accumulate,
summarize. pycocotools itself is not installable here, so this is the reference the C# evaluator is
compared against.

usage: coco_eval_reference.py GT.json RESULTS.json  ->  prints {"AP": ..., ..., "ARl": ...}
"""
import json
import sys
from collections import defaultdict

import numpy as np

IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = [1, 10, 100]
AREAS = {"all": (0.0, 1e5 ** 2), "small": (0.0, 32.0 ** 2), "medium": (32.0 ** 2, 96.0 ** 2), "large": (96.0 ** 2, 1e5 ** 2)}
AREA_NAMES = ["all", "small", "medium", "large"]


def load(gt_path, dt_path):
    with open(gt_path) as f:
        gt = json.load(f)
    with open(dt_path) as f:
        dts = json.load(f)
    image_ids = sorted({im["id"] for im in gt["images"]})
    cat_ids = sorted({c["id"] for c in gt["categories"]})
    known = set(image_ids)
    gts = defaultdict(list)
    for ann in gt.get("annotations", []):
        gts[ann["image_id"], ann["category_id"]].append(ann)
    found = defaultdict(list)
    for number, det in enumerate(dts, start=1):
        assert det["image_id"] in known, "detection on an image not in the ground truth"
        x, y, w, h = det["bbox"]
        # as loadRes: ids from 1 in file order, area = w * h, never a crowd
        found[det["image_id"], det["category_id"]].append(
            {"id": number, "bbox": [x, y, w, h], "area": w * h, "score": det["score"], "iscrowd": 0})
    return image_ids, cat_ids, gts, found


def box_iou(dets, truths):
    """maskApi's bbIou: for a crowd truth the union is the detection's area."""
    out = np.zeros((len(dets), len(truths)))
    for g, t in enumerate(truths):
        gx, gy, gw, gh = t["bbox"]
        crowd = bool(t.get("iscrowd", 0))
        for d, det in enumerate(dets):
            dx, dy, dw, dh = det["bbox"]
            w = min(dw + dx, gw + gx) - max(dx, gx)
            if w <= 0:
                continue
            h = min(dh + dy, gh + gy) - max(dy, gy)
            if h <= 0:
                continue
            inter = w * h
            union = dw * dh if crowd else dw * dh + gw * gh - inter
            out[d, g] = inter / union
    return out


def rank(dets):
    order = np.argsort([-d["score"] for d in dets], kind="mergesort")
    return [dets[i] for i in order][:MAX_DETS[-1]]


def evaluate_img(truths, dets, area):
    """Greedy matching of one image and category in one size band; None when there is nothing."""
    if not truths and not dets:
        return None
    lo, hi = area
    ignore = [1 if (t.get("iscrowd", 0) or t["area"] < lo or t["area"] > hi) else 0 for t in truths]
    g_order = np.argsort(ignore, kind="mergesort")
    truths = [truths[i] for i in g_order]
    g_ignore = np.array([ignore[i] for i in g_order])
    crowd = [bool(t.get("iscrowd", 0)) for t in truths]
    dets = rank(dets)
    ious = box_iou(dets, truths)
    T, D, G = len(IOU_THRS), len(dets), len(truths)
    g_match = np.zeros((T, G))
    d_match = np.zeros((T, D))
    d_ignore = np.zeros((T, D))
    if D and G:
        for ti, thr in enumerate(IOU_THRS):
            for di in range(D):
                best, m = min(thr, 1 - 1e-10), -1
                for gi in range(G):
                    if g_match[ti, gi] > 0 and not crowd[gi]:
                        continue
                    if m > -1 and g_ignore[m] == 0 and g_ignore[gi] == 1:
                        break
                    if ious[di, gi] < best:
                        continue
                    best, m = ious[di, gi], gi
                if m == -1:
                    continue
                d_ignore[ti, di] = g_ignore[m]
                d_match[ti, di] = truths[m]["id"]
                g_match[ti, m] = dets[di]["id"]
    outside = np.array([d["area"] < lo or d["area"] > hi for d in dets]).reshape((1, D))
    d_ignore = np.logical_or(d_ignore, np.logical_and(d_match == 0, np.repeat(outside, T, 0)))
    return {"scores": np.array([d["score"] for d in dets]), "match": d_match, "ignore": d_ignore, "g_ignore": g_ignore}


def accumulate(image_ids, cat_ids, gts, found):
    T, R, K, A, M = len(IOU_THRS), len(REC_THRS), len(cat_ids), len(AREA_NAMES), len(MAX_DETS)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    for k, cat in enumerate(cat_ids):
        for a, name in enumerate(AREA_NAMES):
            evals = [evaluate_img(gts[img, cat], found[img, cat], AREAS[name]) for img in image_ids]
            evals = [e for e in evals if e is not None]
            if not evals:
                continue
            for m, max_det in enumerate(MAX_DETS):
                scores = np.concatenate([e["scores"][:max_det] for e in evals])
                order = np.argsort(-scores, kind="mergesort")
                match = np.concatenate([e["match"][:, :max_det] for e in evals], axis=1)[:, order]
                ignored = np.concatenate([e["ignore"][:, :max_det] for e in evals], axis=1)[:, order]
                regular = np.count_nonzero(np.concatenate([e["g_ignore"] for e in evals]) == 0)
                if regular == 0:
                    continue
                tps = np.cumsum(np.logical_and(match, np.logical_not(ignored)), axis=1).astype(np.float64)
                fps = np.cumsum(np.logical_and(np.logical_not(match), np.logical_not(ignored)), axis=1).astype(np.float64)
                for t in range(T):
                    tp, fp = tps[t], fps[t]
                    n = len(tp)
                    rc = tp / regular
                    pr = (tp / (fp + tp + np.spacing(1))).tolist()
                    recall[t, k, a, m] = rc[-1] if n else 0
                    for i in range(n - 1, 0, -1):
                        if pr[i] > pr[i - 1]:
                            pr[i - 1] = pr[i]
                    q = np.zeros(R)
                    for r, at in enumerate(np.searchsorted(rc, REC_THRS, side="left")):
                        if at >= n:
                            break
                        q[r] = pr[at]
                    precision[t, :, k, a, m] = q
    return precision, recall


def summarize(precision, recall):
    def stat(ap, iou=None, area="all", max_det=100):
        a = AREA_NAMES.index(area)
        m = MAX_DETS.index(max_det)
        s = precision if ap else recall
        if iou is not None:
            s = s[np.where(iou == IOU_THRS)[0]]
        s = s[..., a, m]
        s = s[s > -1]
        return -1.0 if len(s) == 0 else float(np.mean(s))

    return {
        "AP": stat(1), "AP50": stat(1, iou=0.5), "AP75": stat(1, iou=0.75),
        "APs": stat(1, area="small"), "APm": stat(1, area="medium"), "APl": stat(1, area="large"),
        "AR1": stat(0, max_det=1), "AR10": stat(0, max_det=10), "AR100": stat(0),
        "ARs": stat(0, area="small"), "ARm": stat(0, area="medium"), "ARl": stat(0, area="large"),
    }


if __name__ == "__main__":
    print(json.dumps(summarize(*accumulate(*load(sys.argv[1], sys.argv[2])))))
