-- expect: create_unique_index
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
