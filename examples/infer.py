"""Load the fine-tuned model for inference (seed bug 1, half 2: fails at load time)."""

import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from train import CHECKPOINT

tokenizer = AutoTokenizer.from_pretrained("gpt2")
model = AutoModelForCausalLM.from_pretrained("gpt2")
model = get_peft_model(model, LoraConfig(task_type=TaskType.CAUSAL_LM, r=8, lora_alpha=32, lora_dropout=0.1))
model.load_state_dict(torch.load(CHECKPOINT))  # TypeError / UnpicklingError: the file holds a module

inputs = tokenizer("Hello, my name is", return_tensors="pt")
print(tokenizer.decode(model.generate(**inputs, max_new_tokens=20)[0]))
