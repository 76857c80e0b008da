"""What the edge itself says (everything else comes from the assistant). Plain UK English, short sentences."""

from __future__ import annotations

from telegram import BotCommand

# Shown in Telegram's command menu, in this order.
COMMANDS = (
    BotCommand("report", "Report a repair"),
    BotCommand("status", "Check on your repairs"),
    BotCommand("cancel", "Cancel a repair"),
    BotCommand("human", "Talk to a person"),
    BotCommand("help", "What I can do"),
    BotCommand("privacy", "What we keep about this chat"),
    BotCommand("forget_me", "Unlink this chat and erase our conversation"),
)

HELP = (
    "I'm the council's repairs assistant. Tell me in your own words what needs fixing, for example "
    "\"my kitchen tap is leaking\", and I'll report it and give you a reference.\n\n"
    "You can also send a photo of the problem.\n\n"
    "/report - report a repair\n"
    "/status - check on your repairs\n"
    "/cancel - cancel a repair\n"
    "/human - talk to a person\n"
    "/privacy - what we keep about this chat\n"
    "/forget_me - unlink this chat and erase our conversation\n\n"
    "If you smell gas, call 0800 111 999 now. If there is danger to life, call 999."
)

PRIVACY = (
    "What we keep about this chat:\n"
    "- The link between this Telegram chat and your tenancy, once you've confirmed who you are.\n"
    "- Our conversation, so I can follow what you've said. It is not shared outside the council.\n"
    "- Your repair reports and photos. These are the council's records of the repair, and are kept with them.\n\n"
    "Photos are checked and location data is removed before they're stored.\n\n"
    "Type /forget_me to unlink this chat and erase our conversation. Your repair records stay with the council."
)

FORGET_CONFIRM = (
    "This will unlink this chat from your tenancy and erase our conversation. Your repair records stay with "
    "the council. Do you want me to forget this chat?"
)
FORGET_YES = "Yes, forget me"
FORGET_NO = "No, keep it"
FORGOTTEN = (
    "Done. I've unlinked this chat and erased our conversation. If you message me again, I'll need to check "
    "who you are before I can look at your repairs."
)
FORGET_KEPT = "OK, nothing has changed."
FORGET_FAILED = "Sorry, I couldn't do that just now. Nothing has changed. Please try /forget_me again in a few minutes."
FORGET_PARTLY = (
    "I've unlinked this chat from your tenancy, but I couldn't erase our conversation just now. "
    "Please try /forget_me again in a few minutes."
)

TOO_LONG = "That message is too long for me ({limit} characters at most). Please send it in shorter parts."
EMPTY_COMMAND = "Sorry, I didn't get that. Type /help to see what I can do."
ASSISTANT_DOWN = (
    "Sorry, I'm having trouble answering right now. Please try again in a few minutes.\n\n"
    "If you smell gas, call 0800 111 999 now. If there is danger to life, call 999."
)
SOMETHING_WRONG = "Sorry, something went wrong on our side. Please try again."
# A typed message the assistant ran but said nothing to (an action failed): it was received, so never "not sent".
NO_ANSWER = (
    "Sorry, something went wrong on our side and I couldn't finish answering that. Please try again in a "
    "minute. If you were reporting a repair, ask me for the status of your repairs first: it may have been "
    "logged.\n\nIf you smell gas, call 0800 111 999 now. If there is danger to life, call 999."
)
PRIVATE_ONLY = "I only chat privately, so your details stay between us. Please message me directly."

STICKER = "I can't read stickers. Please type your message in words."
VOICE = "I can't listen to voice or audio messages. Please type your message, or call the repairs line."
VIDEO = "I can't watch videos. Please send a photo instead, or describe the problem in words."
DOCUMENT = "I can only take photos (JPEG, PNG, WEBP or GIF). Please send a photo, or type your message."
UNSUPPORTED = "Sorry, I can't read that kind of message. Please type your message in words."

BUTTON_EXPIRED = "That button has expired. Please type your answer instead."
BUTTON_USED = "You've already answered that one."

PHOTO_TOO_BIG = "That photo is too large for me ({limit} MB at most). Please send a smaller one."
PHOTO_NO_REPAIR = (
    "Thanks. I can add a photo once a repair is reported. Tell me what's wrong first, then send the photo again."
)
PHOTO_WHICH = "Which repair is this photo for?"
PHOTO_ADDED = "Thanks, I've added the photo to {reference}."
PHOTO_GONE = "Sorry, I no longer have that photo. Please send it again."
PHOTO_FAILED = "Sorry, I couldn't add that photo just now. Please try again in a few minutes."
