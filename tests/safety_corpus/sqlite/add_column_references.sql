-- expect:
ALTER TABLE "Post" ADD COLUMN "authorId" INTEGER REFERENCES "User"("id");
