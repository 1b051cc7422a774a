"""The words of the manager's pages (inspection, violations, leave, assessment, patrol
findings), merged into `i18n.WORDS`; the regime's own words stay rules/words.py's."""

from __future__ import annotations

from hallwatch.console.config import Language

MANAGER_WORDS: dict[str, dict[Language, str]] = {
    "nav.leave": {"zh-CN": "请假", "en": "Leave"},
    # -- choosing what to see
    "pick.site": {"zh-CN": "大厅", "en": "Hall"},
    "pick.date": {"zh-CN": "日期", "en": "Date"},
    "pick.month": {"zh-CN": "月份", "en": "Month"},
    "pick.all": {"zh-CN": "全部", "en": "All"},
    "pick.show": {"zh-CN": "查询", "en": "Show"},
    "print": {"zh-CN": "打印", "en": "Print"},
    "id": {"zh-CN": "编号", "en": "id"},
    "none": {"zh-CN": "无", "en": "none"},
    # -- actions
    "act.correct": {"zh-CN": "纠正通知", "en": "Correction notice"},
    "act.void": {"zh-CN": "撤销", "en": "Void"},
    "act.note": {"zh-CN": "纠正说明", "en": "Note"},
    "act.reason": {"zh-CN": "撤销原因", "en": "Reason"},
    "act.refused": {"zh-CN": "未能完成：", "en": "Not done: "},
    "act.acknowledge": {"zh-CN": "确认", "en": "Acknowledge"},
    "act.clear": {"zh-CN": "关闭", "en": "Clear"},
    "act.alert_note": {"zh-CN": "处理说明", "en": "Note"},
    # -- the inspection
    "inspection.items": {"zh-CN": "待办事项", "en": "Open items"},
    "inspection.open": {"zh-CN": "查看", "en": "Open"},
    # -- violations
    "v.title": {"zh-CN": "违规详情", "en": "Violation"},
    "v.count": {"zh-CN": "共 {n} 条", "en": "{n} violations"},
    "v.time": {"zh-CN": "时间", "en": "Time"},
    "v.name": {"zh-CN": "姓名", "en": "Name"},
    "v.window": {"zh-CN": "窗口", "en": "Window"},
    "v.department": {"zh-CN": "科室", "en": "Department"},
    "v.rule": {"zh-CN": "违规类型", "en": "Rule"},
    "v.severity": {"zh-CN": "性质", "en": "Severity"},
    "v.number": {"zh-CN": "纠错序号", "en": "Correction no."},
    "v.status": {"zh-CN": "状态", "en": "Status"},
    "v.deduction": {"zh-CN": "扣分", "en": "Deduction"},
    "v.veto": {"zh-CN": "一票否决", "en": "Vetoes the month"},
    "v.detail": {"zh-CN": "说明", "en": "Detail"},
    "v.evidence": {"zh-CN": "证据", "en": "Evidence"},
    "v.no_evidence": {"zh-CN": "无（未打卡）", "en": "None (no punch)"},
    "v.what": {"zh-CN": "内容", "en": "What"},
    "v.device": {"zh-CN": "设备", "en": "Device"},
    "v.snapshot": {
        "zh-CN": "该终端保存了抓拍照片，照片只留在终端上，中心不保存图像。",
        "en": "The station kept a snapshot: it stays on the station; no images centrally.",
    },
    "v.history": {"zh-CN": "处理记录", "en": "History"},
    "v.by": {"zh-CN": "处理人", "en": "Decided by"},
    "v.entered": {"zh-CN": "录入", "en": "Entered by"},
    "v.action": {"zh-CN": "操作", "en": "Action"},
    "v.reason": {"zh-CN": "原因或说明", "en": "Reason or note"},
    "v.no_history": {"zh-CN": "尚无处理记录", "en": "Nothing done yet"},
    "v.back": {"zh-CN": "返回违规列表", "en": "Back to the violations"},
    # -- the assessment
    "download.xlsx": {"zh-CN": "下载 Excel", "en": "Download Excel"},
    "download.csv": {"zh-CN": "下载 CSV", "en": "Download CSV"},
    # -- leave
    "leave.title": {"zh-CN": "请假管理", "en": "Leave"},
    "leave.in_force": {"zh-CN": "有效的请假", "en": "Leave in force"},
    "leave.grant": {"zh-CN": "登记请假（整天）", "en": "Grant leave (whole days)"},
    "leave.staff": {"zh-CN": "人员", "en": "Person"},
    "leave.kind": {"zh-CN": "类别", "en": "Kind"},
    "leave.start": {"zh-CN": "开始", "en": "From"},
    "leave.end": {"zh-CN": "结束", "en": "To"},
    "leave.reason": {"zh-CN": "事由", "en": "Reason"},
    "leave.submit": {"zh-CN": "登记", "en": "Grant"},
    "leave.cancel": {"zh-CN": "取消请假", "en": "Cancel"},
    "leave.cancel_reason": {"zh-CN": "取消原因", "en": "Why"},
    # -- patrol findings (pages/findings.py)
    "nav.findings": {"zh-CN": "巡查记录", "en": "Patrol findings"},
    "finding.title": {"zh-CN": "巡查记录", "en": "Patrol findings"},
    "finding.record": {"zh-CN": "记录巡查发现", "en": "Record what you observed"},
    "finding.window": {"zh-CN": "窗口", "en": "Window"},
    "finding.person": {"zh-CN": "人员", "en": "Person"},
    "finding.whole_window": {"zh-CN": "整个窗口", "en": "The whole window"},
    "finding.rule": {"zh-CN": "问题类型", "en": "Rule"},
    "finding.note": {"zh-CN": "情况说明", "en": "Note"},
    "finding.photo": {"zh-CN": "照片", "en": "Photo"},
    "finding.submit": {"zh-CN": "提交", "en": "Record"},
    "finding.today": {"zh-CN": "今日巡查记录", "en": "Findings today"},
    "finding.of": {"zh-CN": "对象", "en": "Of"},
    "finding.by": {"zh-CN": "记录人", "en": "Recorded by"},
}
