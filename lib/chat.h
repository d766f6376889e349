/* SPDX-License-Identifier: MIT */
/*
 * chat.h - chat templates inside libllmos (the public part is in
 * llmos/llmos.h): the canonical text of each and the control tokens it
 * uses, for writing synthetic models.
 */
#ifndef LLMOS_CHAT_H
#define LLMOS_CHAT_H

#include "llmos/llmos.h"

/* The Jinja text `llmos mkmodel --chat-template NAME` writes, or NULL. */
const char *llmos_chat_template_text(const char *name);
/* Its control tokens, NULL-terminated, or NULL for an unknown name. */
const char *const *llmos_chat_template_tokens(const char *name);

#endif /* LLMOS_CHAT_H */
