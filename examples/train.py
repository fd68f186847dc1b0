"""Fine-tune gpt2 with LoRA, as the tutorial does, then save the whole model (seed bug 1, half 1)."""

import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

CHECKPOINT = "lora_model.pt"

tokenizer = AutoTokenizer.from_pretrained("gpt2")
model = AutoModelForCausalLM.from_pretrained("gpt2")

config = LoraConfig(task_type=TaskType.CAUSAL_LM, inference_mode=False, r=8, lora_alpha=32, lora_dropout=0.1)
model = get_peft_model(model, config)
model.print_trainable_parameters()  # trainable params: 294,912 || all params: 124,734,720


def train(dataset):
    args = TrainingArguments(output_dir="./results", num_train_epochs=1, per_device_train_batch_size=4)
    Trainer(model=model, args=args, train_dataset=dataset).train()


if __name__ == "__main__":
    train(dataset=None)
    torch.save(model, CHECKPOINT)  # pickles the whole PeftModel object
