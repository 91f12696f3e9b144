"""Report wording in both languages; the report defaults to zh-CN."""
from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "title": {"zh": "安全条款合规证据报告", "en": "Security clause compliance evidence report"},
    "site": {"zh": "站点", "en": "Site"},
    "period": {"zh": "报告期间", "en": "Period"},
    "generated": {"zh": "生成时间", "en": "Generated"},
    "report_hash": {"zh": "报告数据哈希 (SHA-256)", "en": "Report data hash (SHA-256)"},
    "site_key": {"zh": "站点签名公钥标识", "en": "Site signing key id"},
    "toc": {"zh": "目录", "en": "Contents"},
    "summary": {"zh": "执行摘要", "en": "Executive summary"},
    "charts": {"zh": "图表", "en": "Charts"},
    "clauses": {"zh": "逐条款结果", "en": "Results per clause"},
    "attestations": {"zh": "管理层声明", "en": "Management attestations"},
    "contradictions": {"zh": "与监测数据矛盾之处", "en": "Contradicted by telemetry"},
    "exceptions": {"zh": "例外（豁免）", "en": "Exceptions (waivers)"},
    "appendix_evidence": {"zh": "附录 A：证据索引", "en": "Appendix A: evidence index"},
    "appendix_violations": {"zh": "附录 B：违规明细", "en": "Appendix B: violations"},
    "appendix_verify": {"zh": "附录 C：如何验证", "en": "Appendix C: how to verify"},
    "control": {"zh": "控制项", "en": "Control"},
    "clause": {"zh": "条款", "en": "Clause"},
    "status_end": {"zh": "期末状态", "en": "Status at period end"},
    "pct": {"zh": "合规时间占比", "en": "Time compliant"},
    "no_data_time": {"zh": "无数据时间", "en": "Time without data"},
    "period_clipped": {"zh": "截至生成时间；申请的结束时间为", "en": "up to the time of generation; requested end"},
    "violations": {"zh": "违规次数", "en": "Violations"},
    "longest": {"zh": "最长一次", "en": "Longest"},
    "evidence": {"zh": "证据", "en": "Evidence"},
    "observations": {"zh": "条观测记录", "en": "observations"},
    "files": {"zh": "个证据文件", "en": "evidence files"},
    "subject": {"zh": "对象", "en": "Subject"},
    "start": {"zh": "开始", "en": "Start"},
    "end": {"zh": "结束", "en": "End"},
    "duration": {"zh": "持续", "en": "Duration"},
    "reason": {"zh": "原因", "en": "Reason"},
    "owner": {"zh": "负责人", "en": "Owner"},
    "approver": {"zh": "批准人", "en": "Approver"},
    "until": {"zh": "有效至", "en": "Valid until"},
    "uploaded": {"zh": "上传", "en": "Uploaded"},
    "file": {"zh": "文件", "en": "File"},
    "statement": {"zh": "声明", "en": "Statement"},
    "user": {"zh": "声明人", "en": "By"},
    "corrects": {"zh": "更正", "en": "Corrects"},
    "none": {"zh": "无", "en": "none"},
    "controls_total": {"zh": "控制项总数", "en": "Controls"},
    "posture_chart": {"zh": "合规态势随时间变化", "en": "Posture over time"},
    "climate_chart": {"zh": "机房温度与湿度", "en": "Machine-room temperature and humidity"},
    "ups_chart": {"zh": "UPS 续航时间", "en": "UPS runtime"},
    "retention_chart": {"zh": "录像保存天数", "en": "Camera retention days"},
    "coverage_chart": {"zh": "监控覆盖（期末）", "en": "Camera coverage (period end)"},
    "axis_time": {"zh": "时间（{tz}）", "en": "Time ({tz})"},
    "axis_controls": {"zh": "控制项数", "en": "Controls"},
    "axis_temperature": {"zh": "温度（°C）", "en": "Temperature (°C)"},
    "axis_humidity": {"zh": "相对湿度（%）", "en": "Relative humidity (%)"},
    "axis_runtime": {"zh": "电池续航（分钟）", "en": "Battery runtime (min)"},
    "axis_days_kept": {"zh": "录像保存（天）", "en": "Footage kept (days)"},
    "axis_covered": {"zh": "覆盖率（%）", "en": "Covered (%)"},
    "axis_zone": {"zh": "区域", "en": "Zone"},
    "masked_note": {"zh": "身份证号、手机号、银行卡号已脱敏。",
                    "en": "ID card, phone and bank card numbers are masked."},
    "verify_text": {"zh": "证据包（bundle）中的每个文件都列在签名清单中；运行 clausewatch verify BUNDLE --pubkey KEY "
                           "可离线校验文件哈希、账本哈希链与签名检查点。",
                    "en": "Every file of the evidence bundle is listed in a signed manifest; run clausewatch verify "
                          "BUNDLE --pubkey KEY to check file hashes, the ledger hash chain and signed checkpoints "
                          "offline."},
    "verify_site_text": {"zh": "本报告仅涉及本职场：证据包的账本片段中，其他职场的条目只保留序号与哈希（不含内容），"
                                "校验时按给定哈希衔接哈希链；如需完整哈希链，请索取不限职场的证据包。",
                         "en": "This report covers this site only: in the bundle's ledger segment, entries about "
                               "other sites keep only their sequence number and hash (no content), and the chain is "
                               "checked through them at that hash; ask for the all-sites bundle for the unbroken "
                               "chain."},
    "key_fingerprint": {"zh": "站点公钥指纹 (SHA-256)", "en": "Site public key fingerprint (SHA-256)"},
    "times_in": {"zh": "本报告中的时间均为以下时区的当地时间：", "en": "Times in this report are local time in"},
    "first_ids": {"zh": "前几条编号", "en": "first ids"},
    "verify_steps": {"zh": "离线验证步骤", "en": "Verifying offline, step by step"},
    "verify_install": {"zh": "在任一台机器上安装 clausewatch（源码目录中运行 pip install .），无需连接本站点。",
                       "en": "Install clausewatch on any machine (pip install . in its source folder); it needs no "
                             "connection to this site."},
    "verify_key": {"zh": "向本站点另行索取公钥（站点管理员运行 clausewatch ledger pubkey），并核对其指纹：",
                   "en": "Obtain the site's public key through another channel (the site's administrator runs "
                         "clausewatch ledger pubkey) and check its fingerprint:"},
    "verify_key_expect": {"zh": "输出应为上方的公钥指纹。", "en": "It must print the fingerprint above."},
    "verify_run": {"zh": "校验证据包：签名清单、每个文件的 SHA-256、账本哈希链与签名检查点。"
                         "输出 OK，或逐条列出被改动的文件与账本条目：",
                   "en": "Check the bundle: the signed manifest, every file's SHA-256, the ledger hash chain and "
                         "its signed checkpoints. It prints OK, or every altered file and ledger entry:"},
    "verify_hash": {"zh": "报告数据哈希是证据包中 report-data.json（报告内容的规范化 JSON："
                          "期间、各控制项结果、证据、例外、声明编号）的 SHA-256，同一份报告的 PDF、HTML 与 OSCAL 相同。"
                          "它不同于各文件自身的 SHA-256（后者列在已签名的 manifest.json 中），"
                          "因为文件还包含排版、字体与语言。重新计算：",
                    "en": "The report data hash is the SHA-256 of report-data.json in the bundle (the report's "
                          "content as canonical JSON: period, per-control results, evidence, exceptions, attestation "
                          "ids); it is the same for the PDF, HTML and OSCAL of one report. It differs from each "
                          "file's own SHA-256 (listed in the signed manifest.json) because a file also holds layout, "
                          "fonts and language. Recompute it:"},
    "verify_hash_expect": {"zh": "输出应为本报告每页页脚的报告数据哈希。",
                           "en": "It must print the report data hash in every page's footer."},
    "att_failures": {"zh": "本期间的违规（签署时确认）", "en": "Failures of the period (acknowledged when signed)"},
    "att_waived": {"zh": "豁免", "en": "waiver"},
    "att_acknowledged": {"zh": "已确认知悉", "en": "acknowledged"},
    "times": {"zh": "次", "en": "time(s)"},
    "signature_block": {"zh": "管理层签字", "en": "Management signature"},
    "signed_by": {"zh": "声明人", "en": "Attested by"},
    "signed_at": {"zh": "签署时间", "en": "Signed at"},
    "snapshot": {"zh": "态势快照 SHA-256", "en": "Posture snapshot SHA-256"},
    "signature": {"zh": "签字", "en": "Signature"},
    "date": {"zh": "日期", "en": "Date"},
    "contradiction_flag": {"zh": "⚠ 人工声明与监测数据矛盾", "en": "⚠ attestation contradicted by telemetry"},
}

STATUS: dict[str, dict[str, str]] = {
    "pass": {"zh": "通过", "en": "pass"},
    "fail": {"zh": "不通过", "en": "fail"},
    "unknown": {"zh": "未知", "en": "unknown"},
    "excepted": {"zh": "例外", "en": "excepted"},
    "not_applicable": {"zh": "不适用", "en": "n/a"},
    "no_data": {"zh": "无数据", "en": "no data"},
}


def labels(lang: str) -> dict[str, str]:
    return {k: v["en" if lang == "en" else "zh"] for k, v in LABELS.items()}


def status_label(status: str, lang: str) -> str:
    return STATUS.get(status, {}).get("en" if lang == "en" else "zh", status)


def duration_text(seconds: float, lang: str) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} 天" if lang != "en" else f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} 小时" if lang != "en" else f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} 分钟" if lang != "en" else f"{seconds / 60:.0f} min"
