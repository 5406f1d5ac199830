"""Create speech with the official OpenAI Python SDK against an audioby server.

Environment: OPENAI_BASE_URL (…/v1), OPENAI_API_KEY, OUT_DIR. Writes speech.<format> for
every format audioby supports and checks that aac, a wrong key and a bad speed fail the way
the SDK expects. tests/openai_sdk.rs runs this and decodes the files.
"""
import os
import sys

import openai
from openai import OpenAI

out_dir = os.environ["OUT_DIR"]
client = OpenAI()  # base_url and api_key from the environment, as users configure it
text = "The council approved the plan on Monday. Work starts in May."

for fmt, voice in [("mp3", "alloy"), ("opus", "nova"), ("wav", "echo"), ("pcm", "joe")]:
    path = os.path.join(out_dir, f"speech.{fmt}")
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice=voice, input=text, response_format=fmt, speed=1.0
    ) as response:
        response.stream_to_file(path)
    size = os.path.getsize(path)
    print(f"{fmt}: {size} bytes via voice {voice}")
    assert size > 1000, f"{fmt} too small: {size}"

# Non-streaming helper, another speed.
resp = client.audio.speech.create(model="gpt-4o-mini-tts", voice="shimmer", input=text, response_format="mp3", speed=1.5)
resp.write_to_file(os.path.join(out_dir, "fast.mp3"))

try:
    client.audio.speech.create(model="tts-1", voice="alloy", input=text, response_format="aac")
    sys.exit("aac should be refused")
except openai.BadRequestError as e:
    assert e.status_code == 400
    assert e.code == "unsupported-format", e.body
    print("aac refused:", e.status_code)

try:
    client.audio.speech.create(model="tts-1", voice="alloy", input=text, speed=9.0)
    sys.exit("speed 9 should be refused")
except openai.BadRequestError as e:
    print("bad speed refused:", e.status_code)

try:
    OpenAI(api_key="wrong").audio.speech.create(model="tts-1", voice="alloy", input=text)
    sys.exit("a wrong key should be refused")
except openai.AuthenticationError as e:
    assert e.status_code == 401
    print("wrong key refused:", e.status_code)

print("ok")
