"""What a new installation starts with (migration 0006): the purposes of SPEC §4 with their
lawful basis, and version 1 of the privacy notice. Changing this file changes new installations
only; compliance edits purposes and publishes notices in the app."""

PURPOSES = [
    {
        "code": "service",
        "name_zh": "提供服务与履行合同",
        "name_en": "Service and contract fulfilment",
        "description_zh": "办理业务、结算、售后、投诉处理与必要的服务通知。",
        "description_en": "Serving you, billing, after-sales, complaints and necessary notices.",
        "lawful_basis": "contract",
        "consent_based": False,
        "channel": None,
        "enabled": True,
        "sort_order": 10,
    },
    {
        "code": "marketing_sms",
        "name_zh": "短信营销",
        "name_en": "Marketing by SMS",
        "description_zh": "通过短信向您发送优惠、新品与活动信息。",
        "description_en": "Offers, new products and events sent to you by SMS.",
        "lawful_basis": "consent",
        "consent_based": True,
        "channel": "sms",
        "enabled": True,
        "sort_order": 20,
    },
    {
        "code": "marketing_phone",
        "name_zh": "电话营销",
        "name_en": "Marketing by phone",
        "description_zh": "通过电话向您介绍优惠与活动。",
        "description_en": "Offers and events presented to you by phone.",
        "lawful_basis": "consent",
        "consent_based": True,
        "channel": "phone",
        "enabled": True,
        "sort_order": 30,
    },
    {
        "code": "marketing_email",
        "name_zh": "电子邮件营销",
        "name_en": "Marketing by e-mail",
        "description_zh": "通过电子邮件向您发送优惠、新品与活动信息。",
        "description_en": "Offers, new products and events sent to you by e-mail.",
        "lawful_basis": "consent",
        "consent_based": True,
        "channel": "email",
        "enabled": True,
        "sort_order": 40,
    },
    {
        "code": "care",
        "name_zh": "关怀问候",
        "name_en": "Care greetings",
        "description_zh": "生日、入会纪念日与节日问候。",
        "description_en": "Birthday, membership anniversary and holiday greetings.",
        "lawful_basis": "consent",
        "consent_based": True,
        "channel": "sms",
        "enabled": True,
        "sort_order": 50,
    },
    {
        "code": "analytics",
        "name_zh": "分析与画像",
        "name_en": "Analytics and profiling",
        "description_zh": "分析消费偏好以改进服务和推荐。",
        "description_en": "Analysing preferences to improve service and recommendations.",
        "lawful_basis": "consent",
        "consent_based": True,
        "channel": None,
        "enabled": True,
        "sort_order": 60,
    },
    {
        "code": "third_party",
        "name_zh": "向第三方提供",
        "name_en": "Provision to third parties",
        "description_zh": "在签订保密协议和合同的前提下，向合作方提供必要的信息。",
        "description_en": "Necessary data given to partners under a confidentiality agreement "
        "and a contract.",
        "lawful_basis": "separate_consent",
        "consent_based": True,
        "channel": None,
        "enabled": True,
        "sort_order": 70,
    },
    {
        "code": "sensitive",
        "name_zh": "处理敏感个人信息",
        "name_en": "Sensitive personal information",
        "description_zh": "如健康状况（过敏、饮食禁忌），仅用于为您提供安全的服务。",
        "description_en": "Such as health (allergies, dietary needs), only to serve you safely.",
        "lawful_basis": "separate_consent",
        "consent_based": True,
        "channel": None,
        "enabled": True,
        "sort_order": 80,
    },
    {
        "code": "cross_border",
        "name_zh": "跨境提供",
        "name_en": "Cross-border transfer",
        "description_zh": "向境外接收方提供个人信息（默认不开展）。",
        "description_en": "Personal data sent to a recipient abroad (not done by default).",
        "lawful_basis": "separate_consent",
        "consent_based": True,
        "channel": None,
        "enabled": False,
        "sort_order": 90,
    },
]

FIRST_NOTICE = {
    "version": 1,
    "handler_zh": "本店（个人信息处理者名称、地址与联系方式见店内公示）",
    "handler_en": "This business (name, address and contact of the handler as posted on site)",
    "purposes": "service,marketing_sms,marketing_phone,marketing_email,care,analytics,"
    "third_party,sensitive",
    "body_zh": (
        "我们依据《中华人民共和国个人信息保护法》《中华人民共和国网络安全法》，遵循合法、正当、"
        "必要的原则处理您的个人信息。\n"
        "收集的信息：姓名、联系电话，以及您自愿提供的其他信息（如生日、地址、证件号码）。\n"
        "收集方式：您在柜台、电话或会员门户中主动提供。\n"
        "使用目的：见下列各项目的；除提供服务外，每一项均由您单独选择同意或拒绝。\n"
        "保存期限：客户档案自业务关系结束起保存3年；订单与账务记录保存30年（期满匿名化，"
        "只留金额）；服务记录、投诉与附件保存3年；同意记录保存6年；期满后删除或匿名化。"
        "客户信息销毁后，备份中该客户的加密信息因其密钥删除而无法读取；密钥副本最长保留35天。\n"
        "您的权利：查阅、复制、更正、删除您的个人信息，撤回同意，要求解释说明；"
        "我们将在15日内答复。\n"
        "撤回方式：在柜台、致电或在会员门户中随时撤回，撤回后相关使用立即停止，"
        "不影响撤回前的处理。"
    ),
    "body_en": (
        "We process your personal information under the Personal Information Protection Law and "
        "the Cybersecurity Law of the PRC, lawfully, legitimately and only as necessary.\n"
        "What we collect: your name, a phone number and what else you choose to give (such as "
        "birthday, address, ID number).\n"
        "How: you give it to us at the counter, by phone or in the member portal.\n"
        "What for: the purposes below; apart from service, you agree or refuse each one "
        "separately.\n"
        "How long: your customer record 3 years after our business with you ends; orders and "
        "accounts 30 years (then anonymised, only the amounts stay); service records, complaints "
        "and attachments 3 years; consent records 6 years; then deleted or anonymised. Once your "
        "data is destroyed, its encrypted copies in backups cannot be read because its key is "
        "deleted; copies of the keys are kept at most 35 days.\n"
        "Your rights: to see, copy, correct and delete your data, to withdraw consent and to ask "
        "for an explanation; we answer within 15 days.\n"
        "How to withdraw: at the counter, by phone or in the member portal, at any time; the use "
        "stops at once and what was done before is not affected."
    ),
}
