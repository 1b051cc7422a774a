"""What the station says to the person in front of it, in Chinese or English.

Keys are stable codes (actions, face rejection reasons, fingerprint errors); the station
never shows a raw exception to staff.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["zh", "en"]

CATALOG: dict[str, dict[str, str]] = {
    "en": {
        "clock_in": "Clocked in",
        "clock_out": "Clocked out",
        "leave_out": "Going out registered",
        "leave_return": "Welcome back",
        "back_by": "back by {time}",
        "inferred": "(action chosen automatically)",
        "already": "Already recorded at {time}",
        "ready": "Look at the camera or touch the sensor",
        "choose_leave": "Going out: 1 outing  2 personal  3 sick  4 official",
        "finger_for": "Now touch the sensor, {name}",
        "face_for": "Now look at the camera, {name}",
        "mismatch": "Face and finger belong to different people",
        "not_out": "You are not registered as out",
        "no_face": "No face found: look at the camera",
        "crowd": "One person at a time",
        "too_small": "Move closer to the camera",
        "pose": "Look straight at the camera",
        "blurry": "Hold still",
        "too_dark": "Too dark: face the light",
        "too_bright": "Too bright: step out of direct light",
        "spoof": "Liveness check failed: show your real face",
        "unknown": "Not recognised: ask an administrator to enrol you",
        "ambiguous": "Not recognised with certainty: look at the camera again",
        "finger_unknown": "Fingerprint not recognised: try again",
        "finger_poor": "Press harder, or clean the sensor",
        "finger_fault": "Fingerprint sensor unavailable: use the camera",
        "camera_fault": "Camera unavailable: use the fingerprint sensor",
    },
    "zh": {
        "clock_in": "上班签到成功",
        "clock_out": "下班签退成功",
        "leave_out": "外出登记成功",
        "leave_return": "外出返回，欢迎回来",
        "back_by": "预计 {time} 返回",
        "inferred": "（已自动判断）",
        "already": "已于 {time} 记录",
        "ready": "请看摄像头或按指纹",
        "choose_leave": "外出：1 外出办事  2 事假  3 病假  4 公务",
        "finger_for": "{name}，请按指纹",
        "face_for": "{name}，请看摄像头",
        "mismatch": "人脸与指纹不是同一人",
        "not_out": "您没有外出登记",
        "no_face": "未检测到人脸，请看摄像头",
        "crowd": "请一人一次",
        "too_small": "请靠近一点",
        "pose": "请正对摄像头",
        "blurry": "请保持不动",
        "too_dark": "光线太暗，请面向光源",
        "too_bright": "光线太强，请避开直射光",
        "spoof": "活体检测未通过，请本人操作",
        "unknown": "未识别，请联系管理员登记",
        "ambiguous": "无法确认身份，请再看一次摄像头",
        "finger_unknown": "指纹未识别，请重试",
        "finger_poor": "请用力按压，或清洁传感器",
        "finger_fault": "指纹模块不可用，请使用人脸",
        "camera_fault": "摄像头不可用，请使用指纹",
    },
}


def say(language: Language, key: str, **values: str) -> str:
    """The text for `key`; an unknown key falls back to English, then to the key itself."""
    template = CATALOG[language].get(key) or CATALOG["en"].get(key) or key
    return template.format(**values)
