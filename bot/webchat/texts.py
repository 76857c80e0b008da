"""What the web chat itself says (everything else comes from the assistant). Plain UK English, short
sentences, and what to do next."""

from __future__ import annotations

EMERGENCY = "If you smell gas, call 0800 111 999 now. If there is danger to life, call 999."

ASSISTANT_DOWN = (
    "Sorry, I can't answer right now. Your message has not been sent: it is still in the box below. "
    "Please try again in a few minutes. " + EMERGENCY
)
# A message the assistant ran but said nothing to (an action failed): it was received, so never "not sent".
NO_ANSWER = (
    "Sorry, something went wrong on our side and I couldn't finish answering that. Please try again in a "
    "minute. If you were reporting a repair, ask me for the status of your repairs first: it may have been "
    "logged. " + EMERGENCY
)
TOO_LONG = "That message is too long ({limit} characters at most). Please send it in shorter parts."
EMPTY = "Please type a message first."
SESSION_ENDED = "Your chat session has ended. Please reload the page to start again."
REFUSED = "Sorry, that request was refused. Please reload the page and try again."
BUTTON_EXPIRED = "That button has expired. Please type your answer instead."
BAD_REQUEST = "Sorry, something went wrong with that message. Please try again."
# Rate limits: {wait} is how long, from `wait_words`.
SLOW_DOWN_MESSAGES = (
    "You're sending messages faster than I can answer them. Please wait {wait}, then try again. "
    "Your message is still in the box. " + EMERGENCY
)
SLOW_DOWN_PHOTOS = "That's a lot of photos at once. Please wait {wait}, then add the photo again."
SLOW_DOWN = "Please wait {wait}, then try again."

PHOTO_TOO_BIG = "That photo is too large ({limit} MB at most). Please choose a smaller one."
PHOTO_NOT_IMAGE = "That file is not a photo. Please choose a JPEG, PNG, WEBP or GIF image."
PHOTO_NO_REPAIR = "Thanks. I can add a photo once a repair is reported. Tell me what's wrong first, then add the photo."
PHOTO_WHICH = "Which repair is this photo for?"
PHOTO_ADDED = "Thanks, I've added the photo to {reference}."
PHOTO_FAILED = "Sorry, I couldn't add that photo just now. Please try again in a few minutes."
PHOTO_NOT_YOURS = "I can't find that repair among your open repairs. Please choose one from the list."

FORGOTTEN = (
    "Done. This browser is no longer linked to your tenancy and our conversation is erased. "
    "Your repair records stay with the council."
)
FORGET_PARTLY = (
    "This browser is no longer linked to your tenancy, but I couldn't erase our conversation just now. "
    "It can't be read from this browser any more. Your repair records stay with the council."
)
FORGET_FAILED = "Sorry, I couldn't do that just now. Nothing has changed. Please try again in a few minutes."


def wait_words(seconds: int) -> str:
    return "1 second" if seconds == 1 else f"{seconds} seconds"
